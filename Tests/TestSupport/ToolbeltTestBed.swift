import Foundation
import Services
import Storage

/// A data directory with an admin and two users, and helpers that insert the rows a toolbelt hangs from.
public struct ToolbeltTestBed: Sendable {
    public let test: TestBackend
    public let plane: ControlPlane
    public let admin: Principal
    public let ada: Principal
    public let bob: Principal

    public var database: AppDatabase { test.database }

    /// The rows one user's toolbelt needs: an agent, a toolbox, a catalog tool and an instance of it.
    public struct World: Sendable {
        public var agent: Agent
        public var toolbox: AccountToolEnvironment
        public var tool: ToolCatalogEntry
        public var instance: AccountToolInstance
    }

    public static let capabilities = #"{"gmail_send": "Send Email", "gmail_read": {"description": "Read Email"}}"#
    public static let secretsSchema = #"""
        {"type": "object", "required": ["api_key"], "additionalProperties": false,
         "properties": {"api_key": {"type": "string", "minLength": 8}, "account": {"type": "string", "format": "email"}}}
        """#

    public static func make() async throws -> ToolbeltTestBed {
        let test = try await TestBackend.make()
        let admin = try await test.database.insert(User(name: "root", role: .admin))
        let ada = try await test.database.insert(User(name: "ada"))
        let bob = try await test.database.insert(User(name: "bob"))
        return ToolbeltTestBed(test: test, plane: ControlPlane(backend: test.backend), admin: .user(admin), ada: .user(ada), bob: .user(bob))
    }

    /// Inserts a world owned by `owner` directly through Storage (not through the toolbox and instance services).
    public func world(
        _ name: String, owner: Principal, capabilities: String = Self.capabilities, secrets: String = Self.secretsSchema,
        instanceStatus: InstanceStatus = .running, toolboxStatus: ToolboxStatus = .active
    ) async throws -> World {
        let user = try owner.requireUser()
        let agent = try await database.insert(Agent(userID: user.id, name: "\(name)-agent"))
        let toolbox = try await database.insert(AccountToolEnvironment(userID: user.id, name: "\(name)-box", status: toolboxStatus, provider: .local))
        let tool = try await database.insert(
            ToolCatalogEntry(
                name: "\(name)-tool", dockerImageURL: "127.0.0.1:5000/tools/\(name):1", requiredCapabilitiesSchema: capabilities,
                requiredSecretsSchema: secrets, version: "1.0.0", containerPort: 8080))
        let instance = try await database.insert(
            AccountToolInstance(
                accountToolEnvironmentID: toolbox.id, toolCatalogID: tool.id, instanceNameOnToolbox: "\(name)-instance", statusOnToolbox: instanceStatus,
                version: "1.0.0"))
        return World(agent: agent, toolbox: toolbox, tool: tool, instance: instance)
    }

    /// Another instance of the world's tool on another toolbox of the same owner.
    public func secondToolbox(of world: World, name: String) async throws -> (AccountToolEnvironment, AccountToolInstance) {
        let toolbox = try await database.insert(AccountToolEnvironment(userID: world.agent.userID, name: "\(name)-box", status: .active, provider: .local))
        let instance = try await database.insert(
            AccountToolInstance(accountToolEnvironmentID: toolbox.id, toolCatalogID: world.tool.id, instanceNameOnToolbox: "\(name)-instance", version: "1.0.0"))
        return (toolbox, instance)
    }

    /// A world whose agent has access to its toolbox and its instance on the belt.
    public func belted(_ name: String, owner: Principal) async throws -> (World, AgentToolbeltItem) {
        let world = try await world(name, owner: owner)
        try await plane.toolbelts.grantAccess(agentID: world.agent.id, toolboxID: world.toolbox.id, by: owner)
        let item = try await plane.toolbelts.addItem(agentID: world.agent.id, instanceID: world.instance.id, isActive: true, by: owner)
        return (world, item)
    }

    /// The audit actions recorded about `targetID`, oldest first.
    public func audit(of targetID: UUID) async throws -> [AuditLogEntry] {
        try await database.fetchAuditLogEntries(afterSeq: 0, limit: 10_000).filter { $0.targetID == targetID.uuidString.lowercased() }
    }

    /// Every audit record.
    public func auditCount() async throws -> Int {
        try await database.fetchAuditLogEntries(afterSeq: 0, limit: 10_000).count
    }
}

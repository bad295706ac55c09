import Foundation
import Storage

/// The ids of a toolbelt item and the rows it hangs from.
public struct SeededChain: Sendable {
    public var userID: UUID
    public var agentID: UUID
    public var toolID: UUID
    public var toolboxID: UUID
    public var toolboxTokenID: UUID
    public var instanceID: UUID
    public var accessID: UUID
    public var toolbeltItemID: UUID
    public var permissionID: UUID
    public var agentTokenID: UUID
    public var userTokenID: UUID
}

/// Rows that tests need, inserted through Storage's typed queries into a real database.
public enum Fixtures {
    /// Random bytes, e.g. for a token hash.
    public static func randomData(count: Int = 32) -> Data {
        Data((0..<count).map { _ in UInt8.random(in: 0...255) })
    }

    /// Inserts user → agent → catalog tool → toolbox (with its token) → instance → access → toolbelt item → permission,
    /// and a token for the agent and one for the user (their hashes are random: no one can present them).
    public static func seedChain(_ database: AppDatabase, name: String = "ada") async throws -> SeededChain {
        let user = try await database.insert(User(name: name, role: .admin))
        let agent = try await database.insert(Agent(userID: user.id, name: "\(name)-agent", description: "Test agent"))
        let tool = try await database.insert(
            ToolCatalogEntry(
                name: "gmail-\(name)",
                description: "Send and read mail",
                dockerImageURL: "127.0.0.1:5000/tools/gmail:1.0.0",
                defaultConfigJSONSchema: #"{"type": "object"}"#,
                requiredCapabilitiesSchema: #"{"gmail_send": "Send Email", "gmail_read": "Read Email"}"#,
                requiredSecretsSchema: #"{"type": "object", "required": ["api_key"]}"#,
                version: "1.0.0",
                containerPort: 8080,
                memoryLimitMB: 256,
                cpuLimit: 0.5))
        var toolbox = try await database.insert(
            AccountToolEnvironment(userID: user.id, name: "\(name)-local", status: .active, provider: .local, reachability: .reachable))
        let toolboxToken = try await database.insert(
            APIToken(kind: .toolbox, accountToolEnvironmentID: toolbox.id, prefix: "abx_tb_", tokenHash: randomData()))
        toolbox.dtmaBearerTokenID = toolboxToken.id
        try await database.update(toolbox)
        let instance = try await database.insert(
            AccountToolInstance(
                accountToolEnvironmentID: toolbox.id,
                toolCatalogID: tool.id,
                instanceNameOnToolbox: "agentbox-gmail-\(name)",
                statusOnToolbox: .running,
                portMappingJSON: #"{"container_port": 8080, "host_port": 49152}"#,
                version: tool.version))
        let access = try await database.insert(AgentToolboxAccess(agentID: agent.id, accountToolEnvironmentID: toolbox.id))
        let item = try await database.insert(AgentToolbeltItem(agentID: agent.id, accountToolInstanceID: instance.id))
        let permission = try await database.insert(
            AgentToolCapabilityPermission(agentToolbeltItemID: item.id, capabilityName: "gmail_send", isAllowed: true))
        let agentToken = try await database.insert(APIToken(kind: .agent, agentID: agent.id, prefix: "abx_ag_", tokenHash: randomData()))
        let userToken = try await database.insert(APIToken(kind: .user, userID: user.id, prefix: "abx_us_", tokenHash: randomData()))
        return SeededChain(
            userID: user.id, agentID: agent.id, toolID: tool.id, toolboxID: toolbox.id, toolboxTokenID: toolboxToken.id,
            instanceID: instance.id, accessID: access.id, toolbeltItemID: item.id, permissionID: permission.id,
            agentTokenID: agentToken.id, userTokenID: userToken.id)
    }
}

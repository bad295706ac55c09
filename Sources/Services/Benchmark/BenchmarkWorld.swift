import Foundation
import Storage
import ToolboxProtocol
import Vault

/// The throwaway world `agentbox bench` measures: one user owning DigitalOcean-style toolboxes (active, each with a
/// toolbox token) full of running instances of one tool, and agents that each hold a toolbelt item, an allowed
/// capability and a sealed credential. Written straight through Storage in one transaction, then described as
/// JSON (``Description``) so that load generators and the PostgreSQL peer of `make bench` use the same rows.
///
/// Only for a fresh data directory of its own: the description holds tokens and secrets in clear.
public struct BenchmarkWorld: Sendable {
    /// How big the world is.
    public struct Size: Sendable {
        public var toolboxes: Int
        public var instancesPerToolbox: Int
        public var agents: Int

        public init(toolboxes: Int, instancesPerToolbox: Int, agents: Int) {
            self.toolboxes = toolboxes
            self.instancesPerToolbox = instancesPerToolbox
            self.agents = agents
        }
    }

    /// The rows as the PostgreSQL peer loads them, the tokens in clear, and what the load generators send.
    public struct Description: Codable, Sendable {
        public struct Row: Codable, Sendable {
            public var id: UUID
            public var name: String
        }
        public struct Tool: Codable, Sendable {
            public var id: UUID
            public var name: String
            public var capabilities: [String]
        }
        public struct Toolbox: Codable, Sendable {
            public var id: UUID
            public var userID: UUID
            public var name: String
            public var provider: String
            public var status: String
        }
        public struct Instance: Codable, Sendable {
            public var id: UUID
            public var toolboxID: UUID
            public var toolID: UUID
            public var name: String
            public var status: String
        }
        public struct Agent: Codable, Sendable {
            public var id: UUID
            public var userID: UUID
            public var name: String
        }
        public struct Access: Codable, Sendable {
            public var agentID: UUID
            public var toolboxID: UUID
        }
        public struct Item: Codable, Sendable {
            public var id: UUID
            public var agentID: UUID
            public var instanceID: UUID
            public var isActive: Bool
        }
        public struct Permission: Codable, Sendable {
            public var itemID: UUID
            public var capability: String
            public var isAllowed: Bool
        }
        public struct Credential: Codable, Sendable {
            public var id: UUID
            public var itemID: UUID
            public var type: String
            public var status: String
            public var secret: String
        }
        public struct ToolboxToken: Codable, Sendable {
            public var toolboxID: UUID
            public var token: String
        }
        /// One call a hand-out redeems a ticket for: the toolbox token that redeems it and the ticket's binding.
        public struct Handout: Codable, Sendable {
            public var token: String
            public var agentID: UUID
            public var instanceID: UUID
            public var capability: String
        }
        /// A toolbox's heartbeat as its DTMA sends it: every instance running.
        public struct Beat: Codable, Sendable {
            public var token: String
            public var body: String
        }

        public var users: [Row]
        /// The user's API token (for the API rows of the benchmark).
        public var userToken: String
        public var tools: [Tool]
        public var toolboxes: [Toolbox]
        public var instances: [Instance]
        public var agents: [Agent]
        public var toolboxAccess: [Access]
        public var toolbeltItems: [Item]
        public var permissions: [Permission]
        public var credentials: [Credential]
        public var toolboxTokens: [ToolboxToken]
        public var handouts: [Handout]
        public var heartbeats: [Beat]

        /// The JSON coders of the description: snake_case keys.
        public static func encoder() -> JSONEncoder {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return encoder
        }

        public static func decoder() -> JSONDecoder {
            let decoder = JSONDecoder()
            // `convertFromSnakeCase` would look for `userId`; the properties say `userID`.
            decoder.keyDecodingStrategy = .custom { path in
                let words = path.last!.stringValue.split(separator: "_").enumerated().map { index, word in
                    index == 0 ? String(word) : word == "id" ? "ID" : word.prefix(1).uppercased() + word.dropFirst()
                }
                return SnakeCaseKey(stringValue: words.joined())
            }
            return decoder
        }

        private struct SnakeCaseKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
    }

    /// The capability every hand-out names, and one more the agents may not use.
    public static let capability = "echo"
    static let deniedCapability = "shout"

    let database: AppDatabase
    let vault: Vault
    let tokens: TokenService

    public init(plane: ControlPlane) {
        database = plane.backend.database
        vault = plane.backend.vault
        tokens = plane.tokens
    }

    /// Writes the world of `size` into the (empty) database and describes it.
    public func seed(_ size: Size) async throws -> Description {
        guard size.toolboxes > 0, size.instancesPerToolbox > 0, size.agents > 0 else {
            throw ServiceError(.invalidRequest, "a benchmark world needs at least one toolbox, one instance per toolbox and one agent")
        }
        let tokens = self.tokens
        let sealing = CredentialSealing(database: database, vault: vault)
        return try await database.transaction { tx in
            let user = try tx.insert(User(name: "bench", role: .admin))
            let userToken = try tokens.issue(.user(user.id), name: "bench", in: tx).token
            let capabilities = [Self.capability, Self.deniedCapability]
            let tool = try tx.insert(
                ToolCatalogEntry(
                    name: "bench-tool", dockerImageURL: "127.0.0.1:5000/agentbox-bench/tool:1",
                    requiredCapabilitiesSchema: #"{"echo": "Answer with the request", "shout": "Answer loudly"}"#,
                    requiredSecretsSchema: #"{"type": "object", "required": ["api_key"]}"#, version: "1", containerPort: 8080))
            var description = Description(
                users: [.init(id: user.id, name: user.name)], userToken: userToken,
                tools: [.init(id: tool.id, name: tool.name, capabilities: capabilities)], toolboxes: [], instances: [], agents: [],
                toolboxAccess: [], toolbeltItems: [], permissions: [], credentials: [], toolboxTokens: [], handouts: [], heartbeats: [])
            let encoder = ToolboxProtocolCoding.encoder()
            var firstInstances: [(toolbox: UUID, token: String, instance: UUID)] = []
            for number in 1...size.toolboxes {
                var toolbox = try tx.insert(
                    AccountToolEnvironment(
                        userID: user.id, dropletID: Int64(900_000 + number), name: "bench-\(number)", region: "nyc3", sizeSlug: "s-1vcpu-1gb",
                        status: .active, publicIPAddress: "127.0.0.1", provider: .digitalocean, reachability: .reachable,
                        agentVersion: AgentboxBuild.version, lastHeartbeatAt: Timestamp.now()))
                let issued = try tokens.issue(.toolbox(toolbox.id), name: "bench", in: tx)
                toolbox.dtmaBearerTokenID = issued.record.id
                try tx.update(toolbox)
                description.toolboxes.append(.init(id: toolbox.id, userID: user.id, name: toolbox.name, provider: "digitalocean", status: "active"))
                description.toolboxTokens.append(.init(toolboxID: toolbox.id, token: issued.token))
                var reports: [InstanceReport] = []
                for slot in 0..<size.instancesPerToolbox {
                    let port = 29_000 + slot
                    let instance = try tx.insert(
                        AccountToolInstance(
                            accountToolEnvironmentID: toolbox.id, toolCatalogID: tool.id, instanceNameOnToolbox: "tool-\(slot)", statusOnToolbox: .running,
                            portMappingJSON: #"{"container_port": 8080, "host_port": \#(port)}"#, version: "1", imageRef: tool.dockerImageURL))
                    description.instances.append(
                        .init(id: instance.id, toolboxID: toolbox.id, toolID: tool.id, name: instance.instanceNameOnToolbox, status: "running"))
                    reports.append(
                        InstanceReport(
                            instanceID: instance.id, containerID: String(repeating: "c", count: 52) + String(format: "%06x%06x", number, slot),
                            state: .running, hostPort: port, version: "1"))
                    if slot == 0 { firstInstances.append((toolbox.id, issued.token, instance.id)) }
                }
                let beat = Heartbeat(
                    toolboxID: toolbox.id, agentVersion: AgentboxBuild.version, sentAt: Timestamp.now(),
                    health: HostHealth(load1: 0.1, memoryAvailableBytes: 512 << 20, diskAvailableBytes: 10 << 30, dockerReachable: true),
                    instances: reports)
                description.heartbeats.append(.init(token: issued.token, body: String(decoding: try encoder.encode(beat), as: UTF8.self)))
            }
            for number in 1...size.agents {
                let target = firstInstances[(number - 1) % firstInstances.count]
                let agent = try tx.insert(Agent(userID: user.id, name: "bench-agent-\(number)"))
                _ = try tx.insert(AgentToolboxAccess(agentID: agent.id, accountToolEnvironmentID: target.toolbox))
                let item = try tx.insert(AgentToolbeltItem(agentID: agent.id, accountToolInstanceID: target.instance))
                _ = try tx.insert(AgentToolCapabilityPermission(agentToolbeltItemID: item.id, capabilityName: Self.capability, isAllowed: true))
                let secret = #"{"api_key":"sk-bench-\#(number)-0123456789abcdef"}"#
                var credential = AgentToolCredential(
                    agentToolbeltItemID: item.id, credentialType: "api_key", encryptedCredentials: Data(), accountIdentifier: nil, status: .active)
                let guarded = try Array(secret.utf8).withUnsafeBytes { try SecureBytes(copying: $0) }
                credential.encryptedCredentials = sealing.seal(guarded, credentialID: credential.id, agentID: agent.id, itemID: item.id)
                _ = try tx.insert(credential)
                description.agents.append(.init(id: agent.id, userID: user.id, name: agent.name))
                description.toolboxAccess.append(.init(agentID: agent.id, toolboxID: target.toolbox))
                description.toolbeltItems.append(.init(id: item.id, agentID: agent.id, instanceID: target.instance, isActive: true))
                description.permissions.append(.init(itemID: item.id, capability: Self.capability, isAllowed: true))
                description.credentials.append(.init(id: credential.id, itemID: item.id, type: "api_key", status: "active", secret: secret))
                description.handouts.append(.init(token: target.token, agentID: agent.id, instanceID: target.instance, capability: Self.capability))
            }
            return description
        }
    }

    /// The ceiling of the API's write row: instance rows inserted and deleted straight through Storage, one
    /// transaction each (as the routes commit), for `duration`; transactions per second.
    public func rawWrites(toolboxID: UUID, toolID: UUID, for duration: Duration) async throws -> Double {
        let start = ContinuousClock.now
        var count = 0
        while ContinuousClock.now - start < duration {
            let instance = AccountToolInstance(
                accountToolEnvironmentID: toolboxID, toolCatalogID: toolID, instanceNameOnToolbox: "raw-\(count)", version: "1")
            try await database.transaction { tx in _ = try tx.insert(instance) }
            try await database.transaction { tx in _ = try tx.delete(AccountToolInstance.self, id: instance.id) }
            count += 2
        }
        return Double(count) / (ContinuousClock.now - start).inSeconds
    }

    /// The ceiling of the hand-out row: one credential opened by the vault in a loop (no HTTP, checks or audit),
    /// for `duration`; opens per second.
    public func vaultOpens(credentialID: UUID, for duration: Duration) async throws -> Double {
        guard let (credential, agentID) = try await database.fetchCredentialWithAgent(id: credentialID) else {
            throw ServiceError(.notFound, "no credential has id \(credentialID.uuidString.lowercased())")
        }
        let context = CredentialSealing.context(credentialID: credential.id, agentID: agentID, itemID: credential.agentToolbeltItemID)
        let sealed = Array(credential.encryptedCredentials)
        let start = ContinuousClock.now
        var count = 0
        while ContinuousClock.now - start < duration {
            _ = try vault.open(sealed, for: context)
            count += 1
        }
        return Double(count) / (ContinuousClock.now - start).inSeconds
    }
}

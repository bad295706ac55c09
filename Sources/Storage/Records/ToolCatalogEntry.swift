import Foundation
import GRDB

/// A tool of the admin-curated catalog: a Docker image, its schemas and what running it needs (table `tool_catalog`).
public struct ToolCatalogEntry: StorageRecord, PersistableRecord {
    public static let databaseTableName = "tool_catalog"

    public var id: UUID
    public var name: String
    public var description: String?
    public var dockerImageURL: String
    /// JSON Schema of the tool's config (JSON text).
    public var defaultConfigJSONSchema: String
    /// Map from capability name to a description, or to an object with a description and an input schema (JSON text).
    public var requiredCapabilitiesSchema: String
    /// JSON Schema of the credentials the tool needs (JSON text).
    public var requiredSecretsSchema: String
    public var version: String
    public var isEnabled: Bool
    /// The port the tool serves on inside its container (1 to 65535).
    public var containerPort: Int
    /// The protocol the container speaks.
    public var `protocol`: ToolProtocol
    /// Memory limit in MiB; nil for none.
    public var memoryLimitMB: Int?
    /// CPU limit in cores; nil for none.
    public var cpuLimit: Double?
    /// How long one execute call may take.
    public var executeTimeoutMS: Int
    public var createdAt: Date
    public var updatedAt: Date

    /// Makes a catalog entry; times default to now and `updatedAt` to `createdAt`.
    public init(
        id: UUID = UUID(),
        name: String,
        description: String? = nil,
        dockerImageURL: String,
        defaultConfigJSONSchema: String = "{}",
        requiredCapabilitiesSchema: String = "{}",
        requiredSecretsSchema: String = "{}",
        version: String,
        isEnabled: Bool = true,
        containerPort: Int,
        protocol: ToolProtocol = .agentboxV1,
        memoryLimitMB: Int? = nil,
        cpuLimit: Double? = nil,
        executeTimeoutMS: Int = 30_000,
        createdAt: Date = Timestamp.now(),
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.dockerImageURL = dockerImageURL
        self.defaultConfigJSONSchema = defaultConfigJSONSchema
        self.requiredCapabilitiesSchema = requiredCapabilitiesSchema
        self.requiredSecretsSchema = requiredSecretsSchema
        self.version = version
        self.isEnabled = isEnabled
        self.containerPort = containerPort
        self.protocol = `protocol`
        self.memoryLimitMB = memoryLimitMB
        self.cpuLimit = cpuLimit
        self.executeTimeoutMS = executeTimeoutMS
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case name
        case description
        case dockerImageURL = "docker_image_url"
        case defaultConfigJSONSchema = "default_config_json_schema"
        case requiredCapabilitiesSchema = "required_capabilities_schema"
        case requiredSecretsSchema = "required_secrets_schema"
        case version
        case isEnabled = "is_enabled"
        case containerPort = "container_port"
        case `protocol`
        case memoryLimitMB = "memory_limit_mb"
        case cpuLimit = "cpu_limit"
        case executeTimeoutMS = "execute_timeout_ms"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// The protocol a tool container speaks.
public enum ToolProtocol: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    /// agentbox's tool container contract, version 1 (`GET /health`, `POST /execute`).
    case agentboxV1 = "agentbox-v1"
    /// The Model Context Protocol.
    case mcp
}

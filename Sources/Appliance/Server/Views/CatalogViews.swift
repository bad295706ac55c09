import Foundation
import JSONSchema
import Services
import Storage

/// A catalog tool as the API shows it; its schemas are JSON objects, not strings.
struct CatalogEntryView: Codable, Sendable {
    let id: String
    let name: String
    let description: String?
    let dockerImageURL: String
    let version: String
    let containerPort: Int
    let `protocol`: String
    let memoryLimitMB: Int?
    let cpuLimit: Double?
    let executeTimeoutMS: Int
    let isEnabled: Bool
    let defaultConfigJSONSchema: JSONValue
    let requiredCapabilitiesSchema: JSONValue
    let requiredSecretsSchema: JSONValue
    let createdAt: String
    let updatedAt: String

    init(_ entry: ToolCatalogEntry) {
        id = entry.id.text
        name = entry.name
        description = entry.description
        dockerImageURL = entry.dockerImageURL
        version = entry.version
        containerPort = entry.containerPort
        `protocol` = entry.protocol.rawValue
        memoryLimitMB = entry.memoryLimitMB
        cpuLimit = entry.cpuLimit
        executeTimeoutMS = entry.executeTimeoutMS
        isEnabled = entry.isEnabled
        defaultConfigJSONSchema = JSONValue.stored(entry.defaultConfigJSONSchema)
        requiredCapabilitiesSchema = JSONValue.stored(entry.requiredCapabilitiesSchema)
        requiredSecretsSchema = JSONValue.stored(entry.requiredSecretsSchema)
        createdAt = entry.createdAt.text
        updatedAt = entry.updatedAt.text
    }

    enum CodingKeys: String, CodingKey {
        case id, name, description, version, `protocol`
        case dockerImageURL = "docker_image_url"
        case containerPort = "container_port"
        case memoryLimitMB = "memory_limit_mb"
        case cpuLimit = "cpu_limit"
        case executeTimeoutMS = "execute_timeout_ms"
        case isEnabled = "is_enabled"
        case defaultConfigJSONSchema = "default_config_json_schema"
        case requiredCapabilitiesSchema = "required_capabilities_schema"
        case requiredSecretsSchema = "required_secrets_schema"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// The body of `POST /api/v1/catalog` and `PATCH /api/v1/catalog/{id}`: every field optional here, the
/// route says which are required; `null` clears `description`, `memory_limit_mb` and `cpu_limit`, and is refused
/// for the other fields.
struct CatalogEntryBody: Decodable, Sendable {
    let name: String?
    let description: String??
    let dockerImageURL: String?
    let version: String?
    let containerPort: Int?
    let `protocol`: ToolProtocol?
    let memoryLimitMB: Int??
    let cpuLimit: Double??
    let executeTimeoutMS: Int?
    let isEnabled: Bool?
    let defaultConfigJSONSchema: JSONValue?
    let requiredCapabilitiesSchema: JSONValue?
    let requiredSecretsSchema: JSONValue?

    enum CodingKeys: String, CodingKey {
        case name, description, version, `protocol`
        case dockerImageURL = "docker_image_url"
        case containerPort = "container_port"
        case memoryLimitMB = "memory_limit_mb"
        case cpuLimit = "cpu_limit"
        case executeTimeoutMS = "execute_timeout_ms"
        case isEnabled = "is_enabled"
        case defaultConfigJSONSchema = "default_config_json_schema"
        case requiredCapabilitiesSchema = "required_capabilities_schema"
        case requiredSecretsSchema = "required_secrets_schema"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeUnlessAbsent(String.self, forKey: .name)
        description = try container.decodeNullable(String.self, forKey: .description)
        dockerImageURL = try container.decodeUnlessAbsent(String.self, forKey: .dockerImageURL)
        version = try container.decodeUnlessAbsent(String.self, forKey: .version)
        containerPort = try container.decodeUnlessAbsent(Int.self, forKey: .containerPort)
        `protocol` = try container.decodeUnlessAbsent(ToolProtocol.self, forKey: .protocol)
        memoryLimitMB = try container.decodeNullable(Int.self, forKey: .memoryLimitMB)
        cpuLimit = try container.decodeNullable(Double.self, forKey: .cpuLimit)
        executeTimeoutMS = try container.decodeUnlessAbsent(Int.self, forKey: .executeTimeoutMS)
        isEnabled = try container.decodeUnlessAbsent(Bool.self, forKey: .isEnabled)
        defaultConfigJSONSchema = try container.decodeUnlessAbsent(JSONValue.self, forKey: .defaultConfigJSONSchema)
        requiredCapabilitiesSchema = try container.decodeUnlessAbsent(JSONValue.self, forKey: .requiredCapabilitiesSchema)
        requiredSecretsSchema = try container.decodeUnlessAbsent(JSONValue.self, forKey: .requiredSecretsSchema)
    }

    /// The definition of a new entry; throws naming the first required field that is missing.
    func definition() throws -> CatalogService.Definition {
        func required<T>(_ value: T?, _ field: String) throws -> T {
            guard let value else { throw ServiceError(.invalidRequest, "the body is missing the field \(field)") }
            return value
        }
        return CatalogService.Definition(
            name: try required(name, "name"),
            description: description ?? nil,
            dockerImageURL: try required(dockerImageURL, "docker_image_url"),
            version: try required(version, "version"),
            containerPort: try required(containerPort, "container_port"),
            protocol: `protocol` ?? .agentboxV1,
            memoryLimitMB: memoryLimitMB ?? nil,
            cpuLimit: cpuLimit ?? nil,
            executeTimeoutMS: executeTimeoutMS ?? 30_000,
            isEnabled: isEnabled ?? true,
            defaultConfigJSONSchema: defaultConfigJSONSchema ?? .object([:]),
            requiredCapabilitiesSchema: try required(requiredCapabilitiesSchema, "required_capabilities_schema"),
            requiredSecretsSchema: requiredSecretsSchema ?? .object([:]))
    }

    /// The changes a PATCH asks for.
    var changes: CatalogService.Changes {
        CatalogService.Changes(
            name: name, description: description, dockerImageURL: dockerImageURL, version: version, containerPort: containerPort,
            protocol: `protocol`, memoryLimitMB: memoryLimitMB, cpuLimit: cpuLimit, executeTimeoutMS: executeTimeoutMS,
            isEnabled: isEnabled, defaultConfigJSONSchema: defaultConfigJSONSchema,
            requiredCapabilitiesSchema: requiredCapabilitiesSchema, requiredSecretsSchema: requiredSecretsSchema)
    }
}

extension KeyedDecodingContainer {
    /// A field that may be left out but, when given, must not be `null` (a 400 naming it): nil when absent.
    func decodeUnlessAbsent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard contains(key) else { return nil }
        return try decode(T.self, forKey: key)
    }

    /// A field of a PATCH body that may be cleared: nil when absent, `.some(nil)` when `null`, else its value.
    func decodeNullable<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T?? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { return .some(nil) }
        return .some(try decode(T.self, forKey: key))
    }
}

extension JSONValue {
    /// A JSON column as a value; the database only ever holds valid JSON (a CHECK says so), so the
    /// fallback `null` is never seen.
    static func stored(_ text: String) -> JSONValue {
        (try? JSONValue(parsing: text)) ?? .null
    }
}

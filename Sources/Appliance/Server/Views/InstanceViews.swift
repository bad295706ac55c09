import Foundation
import JSONSchema
import Storage

/// A tool instance as the API shows it; its port mapping and config overrides are JSON objects.
struct InstanceView: Codable, Sendable {
    let id: String
    let toolboxID: String
    let toolID: String
    let name: String
    let status: String
    let statusDetail: String?
    let version: String
    let portMapping: JSONValue?
    let config: JSONValue?
    let lastHeartbeatFromDTMA: String?
    let createdAt: String
    let updatedAt: String

    init(_ instance: AccountToolInstance) {
        id = instance.id.text
        toolboxID = instance.accountToolEnvironmentID.text
        toolID = instance.toolCatalogID.text
        name = instance.instanceNameOnToolbox
        status = instance.statusOnToolbox.rawValue
        statusDetail = instance.statusDetail
        version = instance.version
        portMapping = instance.portMappingJSON.map(JSONValue.stored)
        config = instance.baseConfigOverrideJSON.map(JSONValue.stored)
        lastHeartbeatFromDTMA = instance.lastHeartbeatFromDTMA?.text
        createdAt = instance.createdAt.text
        updatedAt = instance.updatedAt.text
    }

    enum CodingKeys: String, CodingKey {
        case id, name, status, version, config
        case toolboxID = "toolbox_id"
        case toolID = "tool_id"
        case statusDetail = "status_detail"
        case portMapping = "port_mapping"
        case lastHeartbeatFromDTMA = "last_heartbeat_from_dtma"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// The body of `POST /api/v1/toolboxes/{id}/instances` and `PATCH /api/v1/instances/{id}`;
/// `"config": null` in a PATCH removes the overrides; `null` is refused for the other fields.
struct InstanceBody: Decodable, Sendable {
    let toolID: UUID?
    let name: String?
    let config: JSONValue??

    enum CodingKeys: String, CodingKey {
        case name, config
        case toolID = "tool_id"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        toolID = try container.decodeUnlessAbsent(UUID.self, forKey: .toolID)
        name = try container.decodeUnlessAbsent(String.self, forKey: .name)
        config = try container.decodeNullable(JSONValue.self, forKey: .config)
    }
}

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
    /// The image the instance runs.
    let image: String?
    /// While an upgrade is under way: the version it returns to if the new one fails.
    let previousVersion: String?
    /// True when an admin has disabled the instance's catalog tool since: it keeps running, takes no upgrades.
    let catalogDisabled: Bool
    let portMapping: JSONValue?
    let config: JSONValue?
    let lastHeartbeatFromDTMA: String?
    let createdAt: String
    let updatedAt: String

    init(_ instance: AccountToolInstance, catalogDisabled: Bool = false) {
        id = instance.id.text
        toolboxID = instance.accountToolEnvironmentID.text
        toolID = instance.toolCatalogID.text
        name = instance.instanceNameOnToolbox
        status = instance.statusOnToolbox.rawValue
        statusDetail = instance.statusDetail
        version = instance.version
        image = instance.imageRef
        previousVersion = instance.previousVersion
        self.catalogDisabled = catalogDisabled
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
        case image
        case previousVersion = "previous_version"
        case catalogDisabled = "catalog_disabled"
        case portMapping = "port_mapping"
        case lastHeartbeatFromDTMA = "last_heartbeat_from_dtma"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// Something a toolbox did to an instance's container, as `GET /api/v1/instances/{id}/events` shows it.
struct InstanceEventView: Codable, Sendable {
    let id: Int64
    let at: String
    let kind: String
    let message: String

    init(_ event: InstanceEvent) {
        id = event.id ?? 0
        at = event.at.text
        kind = event.kind
        message = event.message
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

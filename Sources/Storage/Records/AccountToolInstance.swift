import Foundation
import GRDB

/// One container of a catalog tool on one toolbox (table `account_tool_instances`).
///
/// Its toolbox and catalog entry cannot be deleted while it exists; deleting it deletes its toolbelt items,
/// their permissions and credentials.
public struct AccountToolInstance: StorageRecord, PersistableRecord {
    public static let databaseTableName = "account_tool_instances"

    public var id: UUID
    public var accountToolEnvironmentID: UUID
    public var toolCatalogID: UUID
    public var instanceNameOnToolbox: String
    public var statusOnToolbox: InstanceStatus
    /// e.g. `{"container_port": 8080, "host_port": 49152}` (JSON text); nil until a port is leased.
    public var portMappingJSON: String?
    public var lastHeartbeatFromDTMA: Date?
    /// Copied from the catalog at deploy time.
    public var version: String
    /// Config overrides (JSON text); nil for none.
    public var baseConfigOverrideJSON: String?
    /// Docker's reason for an `error`, or a note on a running instance (restarting after a crash, upgrade rolled back).
    public var statusDetail: String?
    /// The image the instance runs, copied from the catalog with `version` (nil only for rows older than migration 003).
    public var imageRef: String?
    /// When a user last asked for a restart: the toolbox restarts a container started before this time.
    public var restartRequestedAt: Date?
    /// While an upgrade is under way: the version and image to return to if the new one does not become healthy.
    public var previousVersion: String?
    public var previousImageRef: String?
    public var createdAt: Date
    public var updatedAt: Date

    /// Makes an instance row; times default to now and `updatedAt` to `createdAt`.
    public init(
        id: UUID = UUID(),
        accountToolEnvironmentID: UUID,
        toolCatalogID: UUID,
        instanceNameOnToolbox: String,
        statusOnToolbox: InstanceStatus = .pendingDeploy,
        portMappingJSON: String? = nil,
        lastHeartbeatFromDTMA: Date? = nil,
        version: String,
        baseConfigOverrideJSON: String? = nil,
        statusDetail: String? = nil,
        imageRef: String? = nil,
        createdAt: Date = Timestamp.now(),
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.accountToolEnvironmentID = accountToolEnvironmentID
        self.toolCatalogID = toolCatalogID
        self.instanceNameOnToolbox = instanceNameOnToolbox
        self.statusOnToolbox = statusOnToolbox
        self.portMappingJSON = portMappingJSON
        self.lastHeartbeatFromDTMA = lastHeartbeatFromDTMA
        self.version = version
        self.baseConfigOverrideJSON = baseConfigOverrideJSON
        self.statusDetail = statusDetail
        self.imageRef = imageRef
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case accountToolEnvironmentID = "account_tool_environment_id"
        case toolCatalogID = "tool_catalog_id"
        case instanceNameOnToolbox = "instance_name_on_toolbox"
        case statusOnToolbox = "status_on_toolbox"
        case portMappingJSON = "port_mapping_json"
        case lastHeartbeatFromDTMA = "last_heartbeat_from_dtma"
        case version
        case baseConfigOverrideJSON = "base_config_override_json"
        case statusDetail = "status_detail"
        case imageRef = "image_ref"
        case restartRequestedAt = "restart_requested_at"
        case previousVersion = "previous_version"
        case previousImageRef = "previous_image_ref"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

extension AccountToolInstance {
    /// Decoded by hand (Codable's keyed decoding was the largest cost of a heartbeat, which reads every instance of
    /// its toolbox); the columns are the ``CodingKeys``, which encoding still uses.
    public init(row: Row) throws {
        let table = Self.databaseTableName
        id = try row.storageUUID(CodingKeys.id.rawValue, in: table)
        accountToolEnvironmentID = try row.storageUUID(CodingKeys.accountToolEnvironmentID.rawValue, in: table)
        toolCatalogID = try row.storageUUID(CodingKeys.toolCatalogID.rawValue, in: table)
        instanceNameOnToolbox = try row.storageText(CodingKeys.instanceNameOnToolbox.rawValue, in: table)
        statusOnToolbox = try row.storageValue(CodingKeys.statusOnToolbox.rawValue, in: table)
        portMappingJSON = row[CodingKeys.portMappingJSON.rawValue]
        lastHeartbeatFromDTMA = try row.storageOptionalDate(CodingKeys.lastHeartbeatFromDTMA.rawValue, in: table)
        version = try row.storageText(CodingKeys.version.rawValue, in: table)
        baseConfigOverrideJSON = row[CodingKeys.baseConfigOverrideJSON.rawValue]
        statusDetail = row[CodingKeys.statusDetail.rawValue]
        imageRef = row[CodingKeys.imageRef.rawValue]
        restartRequestedAt = try row.storageOptionalDate(CodingKeys.restartRequestedAt.rawValue, in: table)
        previousVersion = row[CodingKeys.previousVersion.rawValue]
        previousImageRef = row[CodingKeys.previousImageRef.rawValue]
        createdAt = try row.storageDate(CodingKeys.createdAt.rawValue, in: table)
        updatedAt = try row.storageDate(CodingKeys.updatedAt.rawValue, in: table)
    }
}

/// The lifecycle of a tool instance on its toolbox.
public enum InstanceStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case pendingDeploy = "pending_deploy"
    case deploying
    case running
    case stopped
    case error
    case pendingDelete = "pending_delete"
    case deleting
}

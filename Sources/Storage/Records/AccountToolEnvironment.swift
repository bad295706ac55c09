import Foundation
import GRDB

/// A toolbox: a host that runs tool containers, the local Docker engine or a droplet (table `account_tool_environments`).
public struct AccountToolEnvironment: StorageRecord, PersistableRecord {
    public static let databaseTableName = "account_tool_environments"

    public var id: UUID
    /// The owner (creator); a user with toolboxes cannot be deleted.
    public var userID: UUID
    /// The DigitalOcean droplet; nil while provisioning and for local toolboxes.
    public var dropletID: Int64?
    public var name: String
    /// The cloud region; nil for local toolboxes.
    public var region: String?
    /// The cloud size slug; nil for local toolboxes.
    public var sizeSlug: String?
    public var status: ToolboxStatus
    /// The toolbox's current row in `api_tokens` (never the token itself).
    public var dtmaBearerTokenID: UUID?
    public var publicIPAddress: String?
    public var provider: ToolboxProvider
    /// Why it is in `error`, or what a running operation is doing.
    public var statusDetail: String?
    /// A running operation such as `resizing`; nil when idle.
    public var currentOperation: String?
    /// Derived from heartbeats.
    public var reachability: Reachability
    /// The version of agentbox its DTMA runs, as its last heartbeat said.
    public var agentVersion: String?
    /// When its DTMA's last heartbeat arrived.
    public var lastHeartbeatAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    /// Makes a toolbox row; times default to now and `updatedAt` to `createdAt`.
    public init(
        id: UUID = UUID(),
        userID: UUID,
        dropletID: Int64? = nil,
        name: String,
        region: String? = nil,
        sizeSlug: String? = nil,
        status: ToolboxStatus = .pendingProvision,
        dtmaBearerTokenID: UUID? = nil,
        publicIPAddress: String? = nil,
        provider: ToolboxProvider,
        statusDetail: String? = nil,
        currentOperation: String? = nil,
        reachability: Reachability = .unknown,
        agentVersion: String? = nil,
        lastHeartbeatAt: Date? = nil,
        createdAt: Date = Timestamp.now(),
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.userID = userID
        self.dropletID = dropletID
        self.name = name
        self.region = region
        self.sizeSlug = sizeSlug
        self.status = status
        self.dtmaBearerTokenID = dtmaBearerTokenID
        self.publicIPAddress = publicIPAddress
        self.provider = provider
        self.statusDetail = statusDetail
        self.currentOperation = currentOperation
        self.reachability = reachability
        self.agentVersion = agentVersion
        self.lastHeartbeatAt = lastHeartbeatAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case userID = "user_id"
        case dropletID = "droplet_id"
        case name
        case region
        case sizeSlug = "size_slug"
        case status
        case dtmaBearerTokenID = "dtma_bearer_token"
        case publicIPAddress = "public_ip_address"
        case provider
        case statusDetail = "status_detail"
        case currentOperation = "current_operation"
        case reachability
        case agentVersion = "agent_version"
        case lastHeartbeatAt = "last_heartbeat_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

extension AccountToolEnvironment {
    /// Decoded by hand, like ``AccountToolInstance``: every heartbeat, toolbox token and toolbox list reads it.
    public init(row: Row) throws {
        let table = Self.databaseTableName
        id = try row.storageUUID(CodingKeys.id.rawValue, in: table)
        userID = try row.storageUUID(CodingKeys.userID.rawValue, in: table)
        dropletID = row[CodingKeys.dropletID.rawValue]
        name = try row.storageText(CodingKeys.name.rawValue, in: table)
        region = row[CodingKeys.region.rawValue]
        sizeSlug = row[CodingKeys.sizeSlug.rawValue]
        status = try row.storageValue(CodingKeys.status.rawValue, in: table)
        dtmaBearerTokenID = try row.storageOptionalUUID(CodingKeys.dtmaBearerTokenID.rawValue, in: table)
        publicIPAddress = row[CodingKeys.publicIPAddress.rawValue]
        provider = try row.storageValue(CodingKeys.provider.rawValue, in: table)
        statusDetail = row[CodingKeys.statusDetail.rawValue]
        currentOperation = row[CodingKeys.currentOperation.rawValue]
        reachability = try row.storageValue(CodingKeys.reachability.rawValue, in: table)
        agentVersion = row[CodingKeys.agentVersion.rawValue]
        lastHeartbeatAt = try row.storageOptionalDate(CodingKeys.lastHeartbeatAt.rawValue, in: table)
        createdAt = try row.storageDate(CodingKeys.createdAt.rawValue, in: table)
        updatedAt = try row.storageDate(CodingKeys.updatedAt.rawValue, in: table)
    }
}

/// The lifecycle of a toolbox, as the original design fixed it.
public enum ToolboxStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case pendingProvision = "pending_provision"
    case provisioning
    case active
    case error
    case pendingDeprovision = "pending_deprovision"
    case deprovisioning
    case archived
}

/// Where a toolbox runs.
public enum ToolboxProvider: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case local
    case digitalocean
}

/// Whether a toolbox's heartbeats arrive.
public enum Reachability: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case unknown
    case reachable
    case unreachable
}

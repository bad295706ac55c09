import Foundation
import GRDB

/// Allow or deny of one capability of a toolbelt item (table `agent_tool_capability_permissions`).
public struct AgentToolCapabilityPermission: StorageRecord, PersistableRecord {
    public static let databaseTableName = "agent_tool_capability_permissions"

    public var id: UUID
    public var agentToolbeltItemID: UUID
    /// A key of the tool's capabilities schema; unique per toolbelt item.
    public var capabilityName: String
    public var isAllowed: Bool
    public var createdAt: Date
    public var updatedAt: Date

    /// Makes a permission row; times default to now and `updatedAt` to `createdAt`.
    public init(
        id: UUID = UUID(),
        agentToolbeltItemID: UUID,
        capabilityName: String,
        isAllowed: Bool,
        createdAt: Date = Timestamp.now(),
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.agentToolbeltItemID = agentToolbeltItemID
        self.capabilityName = capabilityName
        self.isAllowed = isAllowed
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case agentToolbeltItemID = "agent_toolbelt_item_id"
        case capabilityName = "capability_name"
        case isAllowed = "is_allowed"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

import Foundation
import GRDB

/// A tool instance on an agent's toolbelt (table `agent_toolbelt_items`); one row per agent and instance.
public struct AgentToolbeltItem: StorageRecord, PersistableRecord {
    public static let databaseTableName = "agent_toolbelt_items"

    public var id: UUID
    public var agentID: UUID
    public var accountToolInstanceID: UUID
    public var isActiveForAgent: Bool
    public var createdAt: Date
    public var updatedAt: Date

    /// Makes a toolbelt item; times default to now and `updatedAt` to `createdAt`.
    public init(
        id: UUID = UUID(),
        agentID: UUID,
        accountToolInstanceID: UUID,
        isActiveForAgent: Bool = true,
        createdAt: Date = Timestamp.now(),
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.agentID = agentID
        self.accountToolInstanceID = accountToolInstanceID
        self.isActiveForAgent = isActiveForAgent
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case agentID = "agent_id"
        case accountToolInstanceID = "account_tool_instance_id"
        case isActiveForAgent = "is_active_for_agent"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

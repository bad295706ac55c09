import Foundation
import GRDB

/// An agent's right to use a toolbox (table `agent_toolbox_access`); one row per agent and toolbox.
public struct AgentToolboxAccess: StorageRecord, PersistableRecord {
    public static let databaseTableName = "agent_toolbox_access"

    public var id: UUID
    public var agentID: UUID
    public var accountToolEnvironmentID: UUID
    public var grantedAt: Date

    /// Makes an access row; `grantedAt` defaults to now.
    public init(id: UUID = UUID(), agentID: UUID, accountToolEnvironmentID: UUID, grantedAt: Date = Timestamp.now()) {
        self.id = id
        self.agentID = agentID
        self.accountToolEnvironmentID = accountToolEnvironmentID
        self.grantedAt = grantedAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case agentID = "agent_id"
        case accountToolEnvironmentID = "account_tool_environment_id"
        case grantedAt = "granted_at"
    }
}

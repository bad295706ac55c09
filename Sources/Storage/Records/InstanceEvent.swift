import Foundation
import GRDB

/// Something that happened to a tool instance's container (table `instance_events`): a pull and its
/// progress, a start, a crash, a restart, an upgrade. Kept for the last ``InstanceEvent/keptPerInstance``
/// events of each instance; removed with the instance. Not an audit record: the audit log says who asked
/// for what, these say what the toolbox did about it.
public struct InstanceEvent: StorageRecord {
    public static let databaseTableName = "instance_events"
    /// How many events of one instance are kept; older ones are dropped as new ones arrive.
    public static let keptPerInstance = 200

    /// Increasing with time; nil until stored.
    public var id: Int64?
    public var accountToolInstanceID: UUID
    public var at: Date
    /// e.g. `pull`, `created`, `started`, `crashed`, `restart`, `upgrade`, `rollback`, `error`.
    public var kind: String
    public var message: String

    public init(accountToolInstanceID: UUID, at: Date = Timestamp.now(), kind: String, message: String) {
        self.accountToolInstanceID = accountToolInstanceID
        self.at = at
        self.kind = kind
        self.message = message
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    enum CodingKeys: String, CodingKey {
        case id, at, kind, message
        case accountToolInstanceID = "account_tool_instance_id"
    }
}

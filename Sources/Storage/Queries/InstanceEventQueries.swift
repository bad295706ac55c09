import Foundation
import GRDB

/// Instance event queries inside a transaction.
extension Transaction {
    /// Stores an event and drops the instance's events beyond the newest ``InstanceEvent/keptPerInstance``.
    @discardableResult
    public func append(_ event: InstanceEvent) throws -> InstanceEvent {
        var event = event
        try event.insert(db)
        try db.execute(
            sql: """
                DELETE FROM instance_events WHERE account_tool_instance_id = ? AND id <= (
                    SELECT id FROM instance_events WHERE account_tool_instance_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)
                """,
            arguments: [event.accountToolInstanceID.storageText, event.accountToolInstanceID.storageText, InstanceEvent.keptPerInstance])
        return event
    }

    /// The newest `limit` events of an instance after event id `after` (all when nil), oldest first.
    public func instanceEvents(instanceID: UUID, after: Int64?, limit: Int) throws -> [InstanceEvent] {
        var request = InstanceEvent.filter(Column(InstanceEvent.CodingKeys.accountToolInstanceID) == instanceID.storageText)
        if let after { request = request.filter(Column(InstanceEvent.CodingKeys.id) > after) }
        return try request.order(Column(InstanceEvent.CodingKeys.id).desc).limit(limit).fetchAll(db).reversed()
    }
}

import Foundation
import GRDB

/// A host port leased to one tool instance on one Docker engine (table `port_leases`).
public struct PortLease: StorageRecord, PersistableRecord {
    public static let databaseTableName = "port_leases"

    /// Which Docker engine the port is on: `local` for the appliance's own engine.
    public var engine: String
    public var port: Int
    public var accountToolInstanceID: UUID
    public var leasedAt: Date

    public init(engine: String, port: Int, accountToolInstanceID: UUID, leasedAt: Date = Timestamp.now()) {
        self.engine = engine
        self.port = port
        self.accountToolInstanceID = accountToolInstanceID
        self.leasedAt = leasedAt
    }

    enum CodingKeys: String, CodingKey {
        case engine, port
        case accountToolInstanceID = "account_tool_instance_id"
        case leasedAt = "leased_at"
    }
}

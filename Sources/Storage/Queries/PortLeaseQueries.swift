import Foundation
import GRDB

/// Port lease queries inside a transaction.
extension Transaction {
    /// The ports leased on `engine`.
    public func leasedPorts(engine: String) throws -> Set<Int> {
        Set(try PortLease.filter(Column(PortLease.CodingKeys.engine) == engine).fetchAll(db).map(\.port))
    }

    /// The lease of an instance, if it has one.
    public func portLease(instanceID: UUID) throws -> PortLease? {
        try PortLease.filter(Column(PortLease.CodingKeys.accountToolInstanceID) == instanceID.storageText).fetchOne(db)
    }

    /// Frees an instance's port; false if it had none.
    @discardableResult
    public func releasePortLease(instanceID: UUID) throws -> Bool {
        try PortLease.filter(Column(PortLease.CodingKeys.accountToolInstanceID) == instanceID.storageText).deleteAll(db) > 0
    }
}

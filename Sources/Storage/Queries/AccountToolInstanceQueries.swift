import Foundation
import GRDB

/// Queries of `AccountToolInstance` rows.
extension AppDatabase {
    /// Inserts a tool instance; fails with `.uniqueViolation`, `.foreignKeyViolation` or `.checkViolation` when the schema refuses it.
    @discardableResult
    public func insert(_ accountToolInstance: AccountToolInstance) async throws -> AccountToolInstance {
        try await insertRecord(accountToolInstance)
    }

    /// The AccountToolInstance with this id, or nil.
    public func fetchAccountToolInstance(id: UUID) async throws -> AccountToolInstance? {
        try await fetchRecord(AccountToolInstance.self, key: id)
    }

    /// Saves every column of a tool instance; throws `.notFound` if it no longer exists.
    public func update(_ accountToolInstance: AccountToolInstance) async throws {
        try await updateRecord(accountToolInstance)
    }

    /// Deletes a tool instance (and what cascades from it); throws `.notFound` if it does not exist.
    public func deleteAccountToolInstance(id: UUID) async throws {
        try await deleteRecord(AccountToolInstance.self, key: id)
    }

    /// The tool instances on a toolbox, oldest first.
    public func fetchAccountToolInstances(accountToolEnvironmentID: UUID) async throws -> [AccountToolInstance] {
        try await fetchRecords(AccountToolInstance.self, where: AccountToolInstance.CodingKeys.accountToolEnvironmentID, is: accountToolEnvironmentID)
    }
}

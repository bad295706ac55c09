import Foundation
import GRDB

/// Queries of `AccountToolEnvironment` rows.
extension AppDatabase {
    /// Inserts a toolbox; fails with `.uniqueViolation`, `.foreignKeyViolation` or `.checkViolation` when the schema refuses it.
    @discardableResult
    public func insert(_ accountToolEnvironment: AccountToolEnvironment) async throws -> AccountToolEnvironment {
        try await insertRecord(accountToolEnvironment)
    }

    /// The AccountToolEnvironment with this id, or nil.
    public func fetchAccountToolEnvironment(id: UUID) async throws -> AccountToolEnvironment? {
        try await fetchRecord(AccountToolEnvironment.self, key: id)
    }

    /// Saves every column of a toolbox; throws `.notFound` if it no longer exists.
    public func update(_ accountToolEnvironment: AccountToolEnvironment) async throws {
        try await updateRecord(accountToolEnvironment)
    }

    /// Deletes a toolbox (and what cascades from it); throws `.notFound` if it does not exist.
    public func deleteAccountToolEnvironment(id: UUID) async throws {
        try await deleteRecord(AccountToolEnvironment.self, key: id)
    }

    /// The toolboxes a user owns, oldest first.
    public func fetchAccountToolEnvironments(userID: UUID) async throws -> [AccountToolEnvironment] {
        try await fetchRecords(AccountToolEnvironment.self, where: AccountToolEnvironment.CodingKeys.userID, is: userID)
    }
}

/// Toolbox queries inside a transaction.
extension Transaction {
    /// A page of toolboxes, oldest first, optionally of one owner, in one status, of one provider, with one name.
    public func accountToolEnvironments(
        userID: UUID?, status: ToolboxStatus?, provider: ToolboxProvider?, name: String?, page: PageRequest
    ) throws -> Page<AccountToolEnvironment> {
        var request = AccountToolEnvironment.order(
            Column(AccountToolEnvironment.CodingKeys.createdAt), Column(AccountToolEnvironment.CodingKeys.id))
        if let userID { request = request.filter(Column(AccountToolEnvironment.CodingKeys.userID) == userID.storageText) }
        if let status { request = request.filter(Column(AccountToolEnvironment.CodingKeys.status) == status) }
        if let provider { request = request.filter(Column(AccountToolEnvironment.CodingKeys.provider) == provider) }
        if let name { request = request.filter(Column(AccountToolEnvironment.CodingKeys.name) == name) }
        return try self.page(request, page)
    }

    /// Every toolbox of `provider` in one of `statuses`, oldest first (the work list of a toolbox's host side).
    public func accountToolEnvironments(provider: ToolboxProvider, statuses: Set<ToolboxStatus>) throws -> [AccountToolEnvironment] {
        try AccountToolEnvironment
            .filter(Column(AccountToolEnvironment.CodingKeys.provider) == provider)
            .filter(statuses.map(\.rawValue).contains(Column(AccountToolEnvironment.CodingKeys.status)))
            .order(Column(AccountToolEnvironment.CodingKeys.createdAt), Column(AccountToolEnvironment.CodingKeys.id))
            .fetchAll(db)
    }
}

/// Heartbeat stamps (soft state, SECURITY.md) inside a transaction.
extension Transaction {
    /// Sets each toolbox's `last_heartbeat_at` to its stamp, unless the row already holds a later one; toolboxes
    /// deleted meanwhile are skipped.
    public func stampHeartbeats(_ stamps: [UUID: Date]) throws {
        let statement = try db.cachedStatement(
            sql: "UPDATE account_tool_environments SET last_heartbeat_at = ?1 WHERE id = ?2 AND (last_heartbeat_at IS NULL OR last_heartbeat_at < ?1)")
        for (toolboxID, stamp) in stamps {
            try statement.execute(arguments: [Timestamp.string(from: stamp), toolboxID.storageText])
        }
    }
}

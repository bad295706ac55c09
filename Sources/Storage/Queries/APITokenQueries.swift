import Foundation
import GRDB

/// Queries of `APIToken` rows.
extension AppDatabase {
    /// Inserts a token row; fails with `.uniqueViolation`, `.foreignKeyViolation` or `.checkViolation` when the schema refuses it.
    @discardableResult
    public func insert(_ token: APIToken) async throws -> APIToken {
        try await insertRecord(token)
    }

    /// The APIToken with this id, or nil.
    public func fetchAPIToken(id: UUID) async throws -> APIToken? {
        try await fetchRecord(APIToken.self, key: id)
    }

    /// Saves every column of a token row; throws `.notFound` if it no longer exists.
    public func update(_ token: APIToken) async throws {
        try await updateRecord(token)
    }

    /// Deletes a token row (and what cascades from it); throws `.notFound` if it does not exist.
    public func deleteAPIToken(id: UUID) async throws {
        try await deleteRecord(APIToken.self, key: id)
    }

    /// The token row with this keyed hash, or nil: how a presented token is looked up.
    public func fetchAPIToken(tokenHash: Data) async throws -> APIToken? {
        try await read { db in
            try APIToken.filter(Column(APIToken.CodingKeys.tokenHash) == tokenHash).fetchOne(db)
        }
    }
}

/// Token queries inside a transaction.
extension Transaction {
    /// The token row with this keyed hash, or nil.
    public func apiToken(hash: Data) throws -> APIToken? {
        let statement = try db.cachedStatement(sql: "SELECT * FROM \(APIToken.databaseTableName) WHERE \(APIToken.CodingKeys.tokenHash.rawValue) = ?")
        return try APIToken.fetchOne(statement, arguments: [hash])
    }

    /// A page of tokens, newest first, of the given owners (nil: every token).
    public func apiTokens(userIDs: [UUID]?, agentIDs: [UUID]?, page: PageRequest) throws -> Page<APIToken> {
        var request = APIToken.order(Column(APIToken.CodingKeys.createdAt).desc, Column(APIToken.CodingKeys.id))
        if let userIDs, let agentIDs {
            request = request.filter(
                userIDs.map(\.storageText).contains(Column(APIToken.CodingKeys.userID))
                    || agentIDs.map(\.storageText).contains(Column(APIToken.CodingKeys.agentID)))
        }
        return try self.page(request, page)
    }
}

extension AppDatabase {
    /// Sets a token's `last_used_at` (soft state: a lost write only makes it older).
    public func touchAPIToken(id: UUID, at time: Date) async throws {
        _ = try await write { db in
            try APIToken.filter(key: id).updateAll(db, Column(APIToken.CodingKeys.lastUsedAt).set(to: Timestamp.string(from: time)))
        }
    }
}

import Foundation
import GRDB

/// Queries of `User` rows.
extension AppDatabase {
    /// Inserts a user; fails with `.uniqueViolation`, `.foreignKeyViolation` or `.checkViolation` when the schema refuses it.
    @discardableResult
    public func insert(_ user: User) async throws -> User {
        try await insertRecord(user)
    }

    /// The User with this id, or nil.
    public func fetchUser(id: UUID) async throws -> User? {
        try await fetchRecord(User.self, key: id)
    }

    /// Saves every column of a user; throws `.notFound` if it no longer exists.
    public func update(_ user: User) async throws {
        try await updateRecord(user)
    }

    /// Deletes a user (and what cascades from it); throws `.notFound` if it does not exist.
    public func deleteUser(id: UUID) async throws {
        try await deleteRecord(User.self, key: id)
    }

    /// The user with this name, or nil.
    public func fetchUser(name: String) async throws -> User? {
        try await read { db in
            try User.filter(Column(User.CodingKeys.name) == name).fetchOne(db)
        }
    }
}

/// User queries inside a transaction.
extension Transaction {
    /// A page of users by name.
    public func users(page: PageRequest) throws -> Page<User> {
        try self.page(User.order(Column(User.CodingKeys.name)), page)
    }

    /// The user with this name, or nil.
    public func user(named name: String) throws -> User? {
        try User.filter(Column(User.CodingKeys.name) == name).fetchOne(db)
    }

    /// Whether any admin exists (a new install has none until `agentbox admin create`).
    public func hasAdmin() throws -> Bool {
        try User.filter(Column(User.CodingKeys.role) == UserRole.admin.rawValue).fetchCount(db) > 0
    }
}

import Foundation
import Storage

/// Users: admins create them; each may read itself; only admins list or delete.
public struct UserService: Sendable {
    let database: AppDatabase
    let tokens: TokenService
    let audit: AuditLog

    /// Creates a user with a first token (shown once). `by` nil is the offline `agentbox admin create`.
    public func create(name: String, role: UserRole, tokenName: String? = nil, by principal: Principal?) async throws -> (User, IssuedToken) {
        if let principal { _ = try principal.requireAdmin() }
        let user = User(name: try Validation.name(name), role: role)
        return try await database.transaction { [tokens, audit] tx in
            let user = try tx.insert(user)
            let issued = try tokens.issue(.user(user.id), name: tokenName ?? "first token", in: tx)
            try audit.append(
                AuditEvent(
                    actor: principal?.auditActor ?? .system, action: "user.create", targetType: "user",
                    targetID: user.id.uuidString.lowercased(), detail: ["name": user.name, "role": role.rawValue]), in: tx)
            return (user, issued)
        }
    }

    /// A user the principal may see: itself, or anyone for an admin.
    public func get(_ id: UUID, by principal: Principal) async throws -> User {
        let caller = try principal.requireUser()
        guard caller.role == .admin || caller.id == id, let user = try await database.fetchUser(id: id) else {
            throw ServiceError(.notFound, "no user has id \(id.uuidString.lowercased())")
        }
        return user
    }

    /// Every user (admins only).
    public func list(page: PageRequest, by principal: Principal) async throws -> Page<User> {
        _ = try principal.requireAdmin()
        return try await database.snapshot { tx in try tx.users(page: page) }
    }

    /// Deletes a user that owns nothing any more (admins only; not oneself).
    public func delete(_ id: UUID, by principal: Principal) async throws {
        let admin = try principal.requireAdmin()
        guard admin.id != id else { throw ServiceError(.conflict, "an admin cannot delete itself; ask another admin") }
        try await database.transaction { [audit] tx in
            guard try tx.delete(User.self, id: id) else { throw ServiceError(.notFound, "no user has id \(id.uuidString.lowercased())") }
            try audit.append(AuditEvent(actor: principal.auditActor, action: "user.delete", targetType: "user", targetID: id.uuidString.lowercased()), in: tx)
        }
    }

    /// Whether the database has an admin yet.
    public func hasAdmin() async throws -> Bool {
        try await database.snapshot { tx in try tx.hasAdmin() }
    }
}

import Foundation
import Storage

/// Who is calling: a user (admin or not), an agent, or a toolbox's host agent.
public enum Principal: Sendable, Equatable {
    case user(User)
    case agent(Agent)
    case toolbox(AccountToolEnvironment)

    /// An admin sees and changes every row.
    public var isAdmin: Bool {
        if case .user(let user) = self { return user.role == .admin }
        return false
    }

    /// How the audit log names this caller.
    public var auditActor: AuditActor {
        switch self {
        case .user(let user): AuditActor(kind: .user, id: user.id)
        case .agent(let agent): AuditActor(kind: .agent, id: agent.id)
        case .toolbox(let toolbox): AuditActor(kind: .toolbox, id: toolbox.id)
        }
    }

    /// The user behind a user principal; other callers may not manage resources.
    public func requireUser() throws -> User {
        guard case .user(let user) = self else {
            throw ServiceError(.forbidden, "this route is for users; agent and toolbox tokens cannot use it")
        }
        return user
    }

    /// The admin behind an admin principal.
    public func requireAdmin() throws -> User {
        let user = try requireUser()
        guard user.role == .admin else { throw ServiceError(.forbidden, "only an admin may do this") }
        return user
    }

    /// The owner filter for list queries: nil (everything) for an admin, the user's own id otherwise.
    public func ownerScope() throws -> UUID? {
        let user = try requireUser()
        return user.role == .admin ? nil : user.id
    }

    /// Whether a row owned by `ownerID` is visible to this caller (an admin sees all).
    public func owns(_ ownerID: UUID) -> Bool {
        guard case .user(let user) = self else { return false }
        return user.role == .admin || user.id == ownerID
    }
}

import Foundation
import Storage
import Synchronization
import Vault

/// A token as made: its text, shown once, and its stored row (which holds only a keyed hash).
public struct IssuedToken: Sendable {
    /// The token itself. Never stored or logged; give it to the caller once.
    public let token: String
    public let record: APIToken
}

/// Issues, checks, rotates and revokes API tokens.
public final class TokenService: Sendable {
    /// `last_used_at` is written at most this often per token, so reading is not writing.
    static let lastUsedInterval: TimeInterval = 60

    let database: AppDatabase
    let vault: Vault
    let audit: AuditLog
    /// Refuses token checks from a source address that failed too many of them.
    let limiter: TokenAttemptLimiter
    private let lastUsedWrites = Mutex<[UUID: Date]>([:])

    public init(database: AppDatabase, vault: Vault, limiter: TokenAttemptLimiter = TokenAttemptLimiter()) {
        self.database = database
        self.vault = vault
        self.audit = AuditLog(vault: vault)
        self.limiter = limiter
    }

    /// The stored form of a token.
    func hash(_ token: String) -> Data {
        Data(vault.keyedHash(Array(token.utf8), for: .apiToken))
    }

    /// Makes a token for `owner` in the caller's transaction.
    public func issue(_ owner: TokenOwner, name: String?, expiresAt: Date? = nil, in tx: Transaction) throws -> IssuedToken {
        let token = TokenFormat.generate(owner.kind)
        var record = APIToken(kind: owner.kind, prefix: TokenFormat.displayPrefix(token), tokenHash: hash(token))
        switch owner {
        case .user(let id): record.userID = id
        case .agent(let id): record.agentID = id
        case .toolbox(let id), .enrollment(let id): record.accountToolEnvironmentID = id
        }
        record.name = name
        record.expiresAt = expiresAt
        return IssuedToken(token: token, record: try tx.insert(record))
    }

    /// The caller a presented token belongs to; throws `unauthenticated` (and audits the failure) otherwise.
    ///
    /// `source` is the caller's address: once it has failed too many checks (``TokenAttemptLimiter``), every check
    /// from it throws `rateLimited` without looking at the token, until its allowance refills; that moment is audited once.
    public func authenticate(_ token: String, from source: String? = nil) async throws -> Principal {
        if let source, case .limited(let seconds) = limiter.verdict(for: source) {
            throw ServiceError(
                .rateLimited, "too many failed token attempts from this address; retry in \(seconds) s", retryAfter: seconds)
        }
        do {
            _ = try TokenFormat.parse(token)
            let tokenHash = hash(token)
            let now = Date()
            let found = try await database.snapshot { tx -> (APIToken, Principal?)? in
                guard let record = try tx.apiToken(hash: tokenHash) else { return nil }
                return (record, try Self.principal(of: record, in: tx))
            }
            guard let (record, principal) = found else {
                throw ServiceError(.unauthenticated, "the token is unknown: it was never issued here, or its owner was deleted")
            }
            if let revoked = record.revokedAt, revoked <= now {
                throw ServiceError(.unauthenticated, "the token \(record.prefix)… was revoked; ask for a new one")
            }
            if let expires = record.expiresAt, expires <= now {
                throw ServiceError(.unauthenticated, "the token \(record.prefix)… expired; ask for a new one")
            }
            guard let principal else {
                throw ServiceError(.unauthenticated, "an enrollment token only enrolls a new toolbox")
            }
            await noteUse(record, at: now)
            return principal
        } catch let error as ServiceError where error.code == .unauthenticated {
            let limited = source.map { limiter.recordFailure(from: $0) } ?? false
            try await database.transaction { [audit] tx in
                try audit.append(
                    AuditEvent(
                        actor: .system, action: "token.rejected", outcome: .denied,
                        detail: ["reason": error.message, "prefix": TokenFormat.displayPrefix(token)]), in: tx)
                if let source, limited {
                    try audit.append(
                        AuditEvent(
                            actor: .system, action: "token.rate_limited", outcome: .denied,
                            detail: ["source": source, "failures": String(self.limiter.policy.failures), "period_seconds": String(Int(self.limiter.policy.period))]),
                        in: tx)
                }
            }
            throw error
        }
    }

    /// A new token for the calling user.
    public func issueForSelf(name: String?, expiresInSeconds: Int?, by principal: Principal) async throws -> IssuedToken {
        let user = try principal.requireUser()
        let expiry = try Validation.expiry(seconds: expiresInSeconds)
        let name = try name.map { try Validation.name($0, field: "token name") }
        return try await database.transaction { [audit] tx in
            let issued = try self.issue(.user(user.id), name: name, expiresAt: expiry, in: tx)
            try audit.append(
                AuditEvent(actor: principal.auditActor, action: "token.issue", targetType: "api_token", targetID: issued.record.id.uuidString.lowercased()),
                in: tx)
            return issued
        }
    }

    /// The tokens the principal manages: its own and its agents' (every token for an admin).
    public func list(page: PageRequest, by principal: Principal) async throws -> Page<APIToken> {
        let scope = try principal.ownerScope()
        return try await database.snapshot { tx in
            guard let scope else { return try tx.apiTokens(userIDs: nil, agentIDs: nil, page: page) }
            return try tx.apiTokens(userIDs: [scope], agentIDs: try tx.agentIDs(userID: scope), page: page)
        }
    }

    /// Revokes a token now.
    public func revoke(_ id: UUID, by principal: Principal) async throws {
        try await database.transaction { [audit] tx in
            var record = try Self.visibleToken(id, to: principal, in: tx)
            guard record.revokedAt == nil else { return }
            record.revokedAt = Timestamp.now()
            try tx.update(record)
            try audit.append(AuditEvent(actor: principal.auditActor, action: "token.revoke", targetType: "api_token", targetID: record.id.uuidString.lowercased()), in: tx)
        }
    }

    /// Issues a successor for the same owner; the old token keeps working for `overlap` seconds, then expires.
    public func rotate(_ id: UUID, overlap: TimeInterval, by principal: Principal) async throws -> IssuedToken {
        try await database.transaction { [audit] tx in
            var old = try Self.visibleToken(id, to: principal, in: tx)
            guard old.revokedAt == nil else { throw ServiceError(.invalidState, "the token \(old.prefix)… is revoked; issue a new one instead") }
            let owner = try TokenOwner(of: old)
            let issued = try self.issue(owner, name: old.name, in: tx)
            let end = Timestamp.rounded(Date().addingTimeInterval(max(overlap, 0)))
            old.expiresAt = min(old.expiresAt ?? end, end)
            try tx.update(old)
            try audit.append(
                AuditEvent(
                    actor: principal.auditActor, action: "token.rotate", targetType: "api_token", targetID: old.id.uuidString.lowercased(),
                    detail: ["successor": issued.record.id.uuidString.lowercased(), "old_expires_at": Timestamp.string(from: end)]), in: tx)
            return issued
        }
    }

    /// A token row the principal may manage: its own, its agents', or any for an admin; others are "not found".
    static func visibleToken(_ id: UUID, to principal: Principal, in tx: Transaction) throws -> APIToken {
        guard let record = try tx.fetch(APIToken.self, id: id), try ownerUserID(of: record, in: tx).map(principal.owns) ?? principal.isAdmin else {
            throw ServiceError(.notFound, "no token has id \(id.uuidString.lowercased())")
        }
        return record
    }

    /// The user a token ultimately belongs to (an agent's owner, a toolbox's owner).
    static func ownerUserID(of record: APIToken, in tx: Transaction) throws -> UUID? {
        if let user = record.userID { return user }
        if let agent = record.agentID { return try tx.fetch(Agent.self, id: agent)?.userID }
        if let toolbox = record.accountToolEnvironmentID { return try tx.fetch(AccountToolEnvironment.self, id: toolbox)?.userID }
        return nil
    }

    private static func principal(of record: APIToken, in tx: Transaction) throws -> Principal? {
        switch record.kind {
        case .user: return try record.userID.flatMap { try tx.fetch(User.self, id: $0) }.map(Principal.user)
        case .agent: return try record.agentID.flatMap { try tx.fetch(Agent.self, id: $0) }.map(Principal.agent)
        case .toolbox: return try record.accountToolEnvironmentID.flatMap { try tx.fetch(AccountToolEnvironment.self, id: $0) }.map(Principal.toolbox)
        case .enrollment: return nil
        }
    }

    /// Writes `last_used_at` when it is older than ``lastUsedInterval``, remembering writes in memory.
    /// Soft state: a stamp that cannot be written (a full disk) fails no request; it is tried again a minute later.
    private func noteUse(_ record: APIToken, at now: Date) async {
        let due = lastUsedWrites.withLock { writes in
            let last = max(writes[record.id] ?? .distantPast, record.lastUsedAt ?? .distantPast)
            guard now.timeIntervalSince(last) >= Self.lastUsedInterval else { return false }
            writes[record.id] = now
            return true
        }
        if due {
            try? await database.touchAPIToken(id: record.id, at: Timestamp.rounded(now))
        }
    }
}

/// Whom a token is for.
public enum TokenOwner: Sendable, Equatable {
    case user(UUID)
    case agent(UUID)
    case toolbox(UUID)
    case enrollment(UUID)

    var kind: TokenKind {
        switch self {
        case .user: .user
        case .agent: .agent
        case .toolbox: .toolbox
        case .enrollment: .enrollment
        }
    }

    init(of record: APIToken) throws {
        switch record.kind {
        case .user: self = .user(record.userID!)
        case .agent: self = .agent(record.agentID!)
        case .toolbox: self = .toolbox(record.accountToolEnvironmentID!)
        case .enrollment: throw ServiceError(.invalidState, "enrollment tokens are single-use and cannot be rotated")
        }
    }
}

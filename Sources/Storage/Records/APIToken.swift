import Foundation
import GRDB

/// A bearer token's stored form (table `api_tokens`): its kind, owner, readable prefix and keyed hash, never the token.
///
/// Exactly the owner column matching `kind` is set: `user` → `userID`, `agent` → `agentID`,
/// `toolbox` and `enrollment` → `accountToolEnvironmentID`. Tokens are deleted with their owner.
public struct APIToken: StorageRecord, PersistableRecord {
    public static let databaseTableName = "api_tokens"

    public var id: UUID
    public var kind: TokenKind
    public var userID: UUID?
    public var agentID: UUID?
    public var accountToolEnvironmentID: UUID?
    /// An optional label chosen by the owner.
    public var name: String?
    /// The readable start of the token, so a leaked token can be recognised.
    public var prefix: String
    /// A keyed hash of the token; unique.
    public var tokenHash: Data
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var expiresAt: Date?
    public var revokedAt: Date?

    /// Makes a token row; `createdAt` defaults to now.
    public init(
        id: UUID = UUID(),
        kind: TokenKind,
        userID: UUID? = nil,
        agentID: UUID? = nil,
        accountToolEnvironmentID: UUID? = nil,
        name: String? = nil,
        prefix: String,
        tokenHash: Data,
        createdAt: Date = Timestamp.now(),
        lastUsedAt: Date? = nil,
        expiresAt: Date? = nil,
        revokedAt: Date? = nil
    ) {
        self.id = id
        self.kind = kind
        self.userID = userID
        self.agentID = agentID
        self.accountToolEnvironmentID = accountToolEnvironmentID
        self.name = name
        self.prefix = prefix
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case kind
        case userID = "user_id"
        case agentID = "agent_id"
        case accountToolEnvironmentID = "account_tool_environment_id"
        case name
        case prefix
        case tokenHash = "token_hash"
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
    }
}

/// Who a token speaks for.
public enum TokenKind: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    /// A user's API token.
    case user
    /// An agent's token for tool calls.
    case agent
    /// A toolbox's (DTMA's) token.
    case toolbox
    /// A single-use token with which a new droplet enrolls.
    case enrollment
}

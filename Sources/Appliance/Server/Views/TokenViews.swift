import Foundation
import Services
import Storage

/// A token's stored facts (never the token or its hash).
struct TokenView: Codable, Sendable {
    let id: String
    let kind: String
    let name: String?
    let prefix: String
    let userID: String?
    let agentID: String?
    let toolboxID: String?
    let createdAt: String
    let lastUsedAt: String?
    let expiresAt: String?
    let revokedAt: String?

    init(_ token: APIToken) {
        id = token.id.text
        kind = token.kind.rawValue
        name = token.name
        prefix = token.prefix
        userID = token.userID?.text
        agentID = token.agentID?.text
        toolboxID = token.accountToolEnvironmentID?.text
        createdAt = token.createdAt.text
        lastUsedAt = token.lastUsedAt?.text
        expiresAt = token.expiresAt?.text
        revokedAt = token.revokedAt?.text
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, name, prefix
        case userID = "user_id"
        case agentID = "agent_id"
        case toolboxID = "toolbox_id"
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
    }
}

/// A token just made: the token itself, shown this once, and its facts.
struct IssuedTokenView: Codable, Sendable {
    let token: String
    let info: TokenView

    init(_ issued: IssuedToken) {
        token = issued.token
        info = TokenView(issued.record)
    }
}

/// The body of the routes that issue a token.
struct IssueTokenBody: Codable, Sendable {
    let name: String?
    let expiresInSeconds: Int?

    enum CodingKeys: String, CodingKey {
        case name
        case expiresInSeconds = "expires_in_seconds"
    }
}

/// The body of `POST /api/v1/tokens/{id}/rotate`.
struct RotateTokenBody: Codable, Sendable {
    let overlapSeconds: Int?

    enum CodingKeys: String, CodingKey {
        case overlapSeconds = "overlap_seconds"
    }
}

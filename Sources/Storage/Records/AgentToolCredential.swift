import Foundation
import GRDB

/// An agent's credentials for one toolbelt item, sealed by the vault (table `agent_tool_credentials`).
public struct AgentToolCredential: StorageRecord, PersistableRecord {
    public static let databaseTableName = "agent_tool_credentials"

    public var id: UUID
    public var agentToolbeltItemID: UUID
    /// e.g. `oauth2`, `api_key`, as the tool's secrets schema defines.
    public var credentialType: String
    /// The vault's sealed blob; never plain text.
    public var encryptedCredentials: Data
    /// A masked account name such as `user@gm***.com`.
    public var accountIdentifier: String?
    public var lastValidatedAt: Date?
    public var status: CredentialStatus
    public var createdAt: Date
    public var updatedAt: Date

    /// Makes a credential row; times default to now and `updatedAt` to `createdAt`.
    public init(
        id: UUID = UUID(),
        agentToolbeltItemID: UUID,
        credentialType: String,
        encryptedCredentials: Data,
        accountIdentifier: String? = nil,
        lastValidatedAt: Date? = nil,
        status: CredentialStatus = .active,
        createdAt: Date = Timestamp.now(),
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.agentToolbeltItemID = agentToolbeltItemID
        self.credentialType = credentialType
        self.encryptedCredentials = encryptedCredentials
        self.accountIdentifier = accountIdentifier
        self.lastValidatedAt = lastValidatedAt
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case agentToolbeltItemID = "agent_toolbelt_item_id"
        case credentialType = "credential_type"
        case encryptedCredentials = "encrypted_credentials"
        case accountIdentifier = "account_identifier"
        case lastValidatedAt = "last_validated_at"
        case status
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// Whether a credential can be handed out.
public enum CredentialStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case active
    case revoked
    case requiresReauth = "requires_reauth"
    case error
}

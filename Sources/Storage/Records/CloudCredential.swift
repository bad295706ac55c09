import Foundation
import GRDB

/// The appliance's API token for a cloud provider (table `cloud_credentials`): sealed by the vault, bound to this
/// row and its provider, opened only to call the provider's API. The account it was last checked against is kept.
public struct CloudCredential: StorageRecord, PersistableRecord {
    public static let databaseTableName = "cloud_credentials"

    public var id: UUID
    /// `digitalocean`.
    public var provider: String
    public var encryptedToken: Data
    public var accountEmail: String?
    public var accountUUID: String?
    /// When the provider last accepted the token.
    public var validatedAt: Date
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID = UUID(), provider: String, encryptedToken: Data, validatedAt: Date = Timestamp.now(), createdAt: Date = Timestamp.now()) {
        self.id = id
        self.provider = provider
        self.encryptedToken = encryptedToken
        self.validatedAt = validatedAt
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, provider
        case encryptedToken = "encrypted_token"
        case accountEmail = "account_email"
        case accountUUID = "account_uuid"
        case validatedAt = "validated_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

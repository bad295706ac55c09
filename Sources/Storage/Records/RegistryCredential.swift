import Foundation
import GRDB

/// A login for a private image registry (table `registry_credentials`): the password is sealed by the vault,
/// bound to this row and its registry, and sent to the Docker engine only as `X-Registry-Auth` of a pull.
public struct RegistryCredential: StorageRecord, PersistableRecord {
    public static let databaseTableName = "registry_credentials"

    public var id: UUID
    /// The registry's host, with its port when not the default, as it starts image references: `registry.example.com:5000`.
    public var registry: String
    public var username: String
    public var encryptedPassword: Data
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID = UUID(), registry: String, username: String, encryptedPassword: Data, createdAt: Date = Timestamp.now()) {
        self.id = id
        self.registry = registry
        self.username = username
        self.encryptedPassword = encryptedPassword
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, registry, username
        case encryptedPassword = "encrypted_password"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

import Foundation
import GRDB

/// The vault's single settings row (table `vault_meta`): how the master key is found and its check value.
public struct VaultMeta: StorageRecord, PersistableRecord {
    public static let databaseTableName = "vault_meta"

    /// Always 1: the table holds one row.
    public var id: Int
    public var formatVersion: Int
    public var masterKeyKind: MasterKeyKind
    /// Proves the master key is the one that wrapped the data keys.
    public var keyCheckValue: Data
    /// The server key (for token hashes and the audit chain), wrapped by the master key.
    public var serverKeyWrapped: Data
    /// The passphrase KDF, e.g. `argon2id13`; nil for a key.
    public var kdfAlgorithm: String?
    public var kdfSalt: Data?
    public var kdfOpslimit: Int64?
    public var kdfMemlimit: Int64?
    public var createdAt: Date
    public var updatedAt: Date

    /// Makes the settings row; times default to now and `updatedAt` to `createdAt`.
    public init(
        id: Int = 1,
        formatVersion: Int,
        masterKeyKind: MasterKeyKind,
        keyCheckValue: Data,
        serverKeyWrapped: Data,
        kdfAlgorithm: String? = nil,
        kdfSalt: Data? = nil,
        kdfOpslimit: Int64? = nil,
        kdfMemlimit: Int64? = nil,
        createdAt: Date = Timestamp.now(),
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.formatVersion = formatVersion
        self.masterKeyKind = masterKeyKind
        self.keyCheckValue = keyCheckValue
        self.serverKeyWrapped = serverKeyWrapped
        self.kdfAlgorithm = kdfAlgorithm
        self.kdfSalt = kdfSalt
        self.kdfOpslimit = kdfOpslimit
        self.kdfMemlimit = kdfMemlimit
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case formatVersion = "format_version"
        case masterKeyKind = "master_key_kind"
        case keyCheckValue = "key_check_value"
        case serverKeyWrapped = "server_key_wrapped"
        case kdfAlgorithm = "kdf_algorithm"
        case kdfSalt = "kdf_salt"
        case kdfOpslimit = "kdf_opslimit"
        case kdfMemlimit = "kdf_memlimit"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// Where the master key comes from.
public enum MasterKeyKind: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    /// A random key (systemd credential or key file).
    case key
    /// A passphrase stretched with a KDF.
    case passphrase
}

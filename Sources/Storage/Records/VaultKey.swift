import Foundation
import GRDB

/// A versioned data key wrapped by the master key (table `vault_keys`); at most one is `active`.
public struct VaultKey: StorageRecord, PersistableRecord {
    public static let databaseTableName = "vault_keys"

    /// 1, 2, ...: the key version that sealed blobs name.
    public var version: Int
    /// The data key sealed by the master key; nil once retired.
    public var wrappedKey: Data?
    public var state: VaultKeyState
    public var createdAt: Date
    public var retiredAt: Date?

    /// Makes a key row; `createdAt` defaults to now.
    public init(version: Int, wrappedKey: Data?, state: VaultKeyState, createdAt: Date = Timestamp.now(), retiredAt: Date? = nil) {
        self.version = version
        self.wrappedKey = wrappedKey
        self.state = state
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }

    enum CodingKeys: String, CodingKey {
        case version
        case wrappedKey = "wrapped_key"
        case state
        case createdAt = "created_at"
        case retiredAt = "retired_at"
    }
}

/// The life of a data key during rotation.
public enum VaultKeyState: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    /// Seals new secrets.
    case active
    /// Still opens old secrets while they are re-sealed.
    case retiring
    /// No secret uses it any more.
    case retired
}

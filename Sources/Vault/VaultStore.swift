/// What the vault keeps next to its data: how the master key is made and checked, and the wrapped server key.
public struct VaultHeader: Sendable, Equatable {
    public var masterKeyKind: MasterKeyKind
    public var keyCheckValue: [UInt8]
    /// The server key (source of the keyed hashes), wrapped by the master key.
    public var wrappedServerKey: [UInt8]
    public var kdf: KDFParameters?

    public init(masterKeyKind: MasterKeyKind, keyCheckValue: [UInt8], wrappedServerKey: [UInt8], kdf: KDFParameters?) {
        self.masterKeyKind = masterKeyKind
        self.keyCheckValue = keyCheckValue
        self.wrappedServerKey = wrappedServerKey
        self.kdf = kdf
    }
}

/// Life of a data key: new seals use the `active` one; `retiring` ones still open old values
/// while rotation re-seals them; `retired` ones are gone (their wrapped key is erased).
public enum DataKeyState: String, Sendable {
    case active, retiring, retired
}

/// A data key as stored: wrapped (sealed) by the master key.
public struct StoredDataKey: Sendable, Equatable {
    public var version: UInt32
    public var wrappedKey: [UInt8]?
    public var state: DataKeyState

    public init(version: UInt32, wrappedKey: [UInt8]?, state: DataKeyState) {
        self.version = version
        self.wrappedKey = wrappedKey
        self.state = state
    }
}

/// One sealed value and where it lives.
public struct SealedRow: Sendable, Equatable {
    public var context: SealContext
    public var blob: [UInt8]

    public init(context: SealContext, blob: [UInt8]) {
        self.context = context
        self.blob = blob
    }
}

/// Persistence the vault needs: its header, its data keys, and the sealed columns of the database.
///
/// Implemented over the SQLite file by the services layer; the vault itself knows no tables.
public protocol VaultStore: Sendable {
    func loadHeader() async throws -> VaultHeader?
    func loadDataKeys() async throws -> [StoredDataKey]
    /// Writes the header and the first data key together (a new vault).
    func initialize(header: VaultHeader, firstKey: StoredDataKey) async throws
    /// Adds a new active key and turns the previous active key into a retiring one, atomically.
    func addDataKey(_ key: StoredDataKey) async throws
    /// Retires every key below `version`, erasing their wrapped keys, if and only if no sealed
    /// value still uses one; checked and done in one transaction. Returns whether it retired.
    func retireDataKeys(below version: UInt32) async throws -> Bool
    /// Up to `limit` sealed values whose key version is below `version`.
    func sealedRows(keyVersionBelow version: UInt32, limit: Int) async throws -> [SealedRow]
    /// Sealed values in a stable order (table, then row id) after the given one, for full scans.
    func sealedRows(after: SealContext?, limit: Int) async throws -> [SealedRow]
    /// Replaces a sealed value only if it still holds `row.blob`; false when it changed meanwhile.
    func replaceSealed(_ row: SealedRow, with blob: [UInt8]) async throws -> Bool
}

import CSodium
import Synchronization

/// The vault: seals and opens secrets with versioned data keys wrapped by one master key.
///
/// Make one with `unseal(_:store:)` at start; it checks the master key against the stored
/// key check value and refuses to go on with a wrong or missing key.
public final class Vault: Sendable {
    let store: any VaultStore
    let master: MasterKey
    let keyring: Mutex<Keyring>
    let hashKeys: KeyedHashKeys

    /// Where the master key came from (a path or a credential name), for status output.
    public var masterKeyOrigin: String { master.origin }
    /// Whether the master key is a random key or a stretched passphrase.
    public var masterKeyKind: MasterKeyKind { master.kind }

    private init(store: any VaultStore, master: MasterKey, keyring: Keyring, hashKeys: KeyedHashKeys) {
        self.store = store
        self.master = master
        self.keyring = Mutex(keyring)
        self.hashKeys = hashKeys
    }

    /// Opens the vault of a store, or makes a new one when the store has none.
    public static func unseal(_ configuration: MasterKeyConfiguration, store: any VaultStore) async throws -> Vault {
        try Sodium.ensureInitialized()
        if let header = try await store.loadHeader() {
            let master = try await MasterKey.loadExisting(configuration, header: header)
            guard master.checkValue == header.keyCheckValue else {
                throw VaultError(
                    .keyMismatch,
                    "the master key from \(master.origin) is not the key of this vault (key check value mismatch); every sealed secret would be unreadable. Restore the original key file, credential or passphrase; agentbox will not replace the key of existing data")
            }
            let keys = try await store.loadDataKeys()
            let serverKey = try Keyring.unwrap(header.wrappedServerKey, label: KeyedHashKeys.wrapLabel, with: master.bytes)
            return Vault(
                store: store, master: master, keyring: try Keyring(unwrapping: keys, with: master.bytes),
                hashKeys: try KeyedHashKeys(serverKey: serverKey))
        }
        let master = try await MasterKey.loadOrCreate(configuration)
        let first = try SecureBytes.random(count: AEAD.keyCount)
        let serverKey = try SecureBytes.random(count: AEAD.keyCount)
        let stored = StoredDataKey(version: 1, wrappedKey: Keyring.wrap(first, version: 1, with: master.bytes), state: .active)
        let header = VaultHeader(
            masterKeyKind: master.kind, keyCheckValue: master.checkValue,
            wrappedServerKey: Keyring.wrap(serverKey, label: KeyedHashKeys.wrapLabel, with: master.bytes), kdf: master.kdf)
        try await store.initialize(header: header, firstKey: stored)
        return Vault(
            store: store, master: master, keyring: Keyring(keys: [1: first], active: 1), hashKeys: try KeyedHashKeys(serverKey: serverKey))
    }

    /// Seals `plaintext` for the row described by `context` with the active data key.
    public func seal(_ plaintext: UnsafeRawBufferPointer, for context: SealContext) -> [UInt8] {
        let (version, key) = keyring.withLock { ($0.active, $0.keys[$0.active]!) }
        let aad = context.associatedData(keyVersion: version)
        let (nonce, ciphertext) = AEAD.seal(plaintext, aad: aad, key: key)
        return SealedBlob(keyVersion: version, nonce: nonce, ciphertext: ciphertext).bytes
    }

    /// Seals bytes held in an array (the caller wipes its copy when it is secret).
    public func seal(_ plaintext: [UInt8], for context: SealContext) -> [UInt8] {
        plaintext.withUnsafeBytes { seal($0, for: context) }
    }

    /// Opens a sealed value into guarded memory; fails if it was altered or belongs elsewhere.
    ///
    /// Throws `retiredKeyVersion` when rotation retired the key after the caller read the value:
    /// the row then holds a re-sealed value, so read it again.
    public func open(_ blob: [UInt8], for context: SealContext) throws -> SecureBytes {
        let sealed = try SealedBlob(parsing: blob)
        let key: SecureBytes = try keyring.withLock { ring in
            if let key = ring.keys[sealed.keyVersion] { return key }
            if sealed.keyVersion < ring.active {
                throw VaultError(.retiredKeyVersion, "\(context) was sealed with data key \(sealed.keyVersion), which rotation has retired")
            }
            throw VaultError(.unknownKeyVersion, "\(context) names data key \(sealed.keyVersion), which this vault does not have")
        }
        return try AEAD.open(
            sealed.ciphertext, nonce: sealed.nonce, aad: context.associatedData(keyVersion: sealed.keyVersion), key: key,
            what: "sealed value of \(context)")
    }

    /// The active data key version.
    public var activeKeyVersion: UInt32 { keyring.withLock { $0.active } }
}

/// The unwrapped data keys in memory.
struct Keyring: Sendable {
    var keys: [UInt32: SecureBytes]
    var active: UInt32

    init(keys: [UInt32: SecureBytes], active: UInt32) {
        self.keys = keys
        self.active = active
    }

    /// Unwraps every stored key that is not retired.
    init(unwrapping stored: [StoredDataKey], with master: SecureBytes) throws {
        var keys: [UInt32: SecureBytes] = [:]
        for key in stored where key.state != .retired {
            guard let wrapped = key.wrappedKey else {
                throw VaultError(.storeFailed, "data key \(key.version) is \(key.state.rawValue) but its wrapped key is missing")
            }
            keys[key.version] = try Self.unwrap(wrapped, version: key.version, with: master)
        }
        guard let active = stored.first(where: { $0.state == .active })?.version, keys[active] != nil else {
            throw VaultError(.storeFailed, "the vault has no active data key; restore the database from a backup")
        }
        self.init(keys: keys, active: active)
    }

    /// Seals a data key with the master key: `format (1) | nonce (24) | ciphertext and tag (48)`.
    static func wrap(_ key: SecureBytes, version: UInt32, with master: SecureBytes) -> [UInt8] {
        wrap(key, label: dataKeyLabel(version), with: master)
    }

    static func unwrap(_ wrapped: [UInt8], version: UInt32, with master: SecureBytes) throws -> SecureBytes {
        try unwrap(wrapped, label: dataKeyLabel(version), with: master)
    }

    /// Seals a 32-byte key with the master key, bound to `label` (the fields that name what the key is).
    static func wrap(_ key: SecureBytes, label: [String], with master: SecureBytes) -> [UInt8] {
        let aad = Netstring.encode(label)
        let (nonce, ciphertext) = key.withUnsafeBytes { AEAD.seal($0, aad: aad, key: master) }
        return [SealedBlob.formatVersion] + nonce + ciphertext
    }

    static func unwrap(_ wrapped: [UInt8], label: [String], with master: SecureBytes) throws -> SecureBytes {
        let name = label.joined(separator: " ")
        guard wrapped.count == 1 + AEAD.nonceCount + AEAD.keyCount + AEAD.tagCount, wrapped[0] == SealedBlob.formatVersion else {
            throw VaultError(.malformedBlob, "the wrapped key \(name) has an unknown format")
        }
        return try AEAD.open(
            Array(wrapped[(1 + AEAD.nonceCount)...]), nonce: Array(wrapped[1...AEAD.nonceCount]),
            aad: Netstring.encode(label), key: master, what: "the wrapped key \(name)")
    }

    private static func dataKeyLabel(_ version: UInt32) -> [String] {
        ["agentbox-vault-key", String(SealedBlob.formatVersion), String(version)]
    }
}

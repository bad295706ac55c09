import CSodium
import Foundation

/// How the master key of a vault is obtained: a random key (key file or systemd credential) or a passphrase.
public enum MasterKeyKind: String, Sendable {
    case key
    case passphrase
}

/// Argon2id cost parameters and salt, stored with the vault so they can be raised later.
public struct KDFParameters: Sendable, Equatable {
    /// Always `argon2id13` for vaults written by this agentbox.
    public var algorithm: String
    public var salt: [UInt8]
    public var opsLimit: UInt64
    public var memLimit: UInt64

    public init(algorithm: String = "argon2id13", salt: [UInt8], opsLimit: UInt64, memLimit: UInt64) {
        self.algorithm = algorithm
        self.salt = salt
        self.opsLimit = opsLimit
        self.memLimit = memLimit
    }

    /// libsodium's interactive limits (about 64 MiB, a fraction of a second) with a fresh salt.
    public static func interactive() -> KDFParameters {
        var salt = [UInt8](repeating: 0, count: Int(crypto_pwhash_SALTBYTES))
        randombytes_buf(&salt, salt.count)
        return KDFParameters(
            salt: salt, opsLimit: UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE), memLimit: UInt64(crypto_pwhash_MEMLIMIT_INTERACTIVE))
    }
}

/// Where to look for the master key, in the order of SECURITY.md.
public struct MasterKeyConfiguration: Sendable {
    /// Name of the systemd credential (`LoadCredential=agentbox-master-key:...`).
    public static let credentialName = "agentbox-master-key"

    /// `$CREDENTIALS_DIRECTORY` when systemd passes credentials.
    public var credentialsDirectory: String?
    /// Key file, created 0600 in a 0700 directory when a new vault is made without a passphrase.
    public var keyFilePath: String
    /// File holding a passphrase to stretch with Argon2id instead of a key file.
    public var passphraseFilePath: String?
    /// Cost of the passphrase stretching for a new vault.
    public var newVaultKDF: @Sendable () -> KDFParameters

    public init(
        credentialsDirectory: String? = nil, keyFilePath: String, passphraseFilePath: String? = nil,
        newVaultKDF: @escaping @Sendable () -> KDFParameters = KDFParameters.interactive
    ) {
        self.credentialsDirectory = credentialsDirectory
        self.keyFilePath = keyFilePath
        self.passphraseFilePath = passphraseFilePath
        self.newVaultKDF = newVaultKDF
    }

    var credentialPath: String? {
        guard let directory = credentialsDirectory, !directory.isEmpty else { return nil }
        let path = directory + "/" + Self.credentialName
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}

/// The master key, in guarded memory, with a note of where it came from (never the key itself).
struct MasterKey: Sendable {
    let bytes: SecureBytes
    let kind: MasterKeyKind
    let kdf: KDFParameters?
    let origin: String

    private static let checkLabel = Array("agentbox vault key check v1".utf8)

    /// A keyed BLAKE2b of a fixed label: shows whether a key is the vault's without revealing it.
    var checkValue: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeBytes { key in
            _ = crypto_generichash(
                &out, out.count, Self.checkLabel, UInt64(Self.checkLabel.count),
                key.baseAddress!.assumingMemoryBound(to: UInt8.self), key.count)
        }
        return out
    }

    /// Loads the key of an existing vault; never creates one.
    static func loadExisting(_ config: MasterKeyConfiguration, header: VaultHeader) async throws -> MasterKey {
        switch header.masterKeyKind {
        case .passphrase:
            guard let passphraseFile = config.passphraseFilePath else {
                throw VaultError(
                    .wrongKeyKind,
                    "this vault is sealed with a passphrase; give its file with --passphrase-file FILE (or AGENTBOX_PASSPHRASE_FILE)")
            }
            guard let kdf = header.kdf else {
                throw VaultError(.storeFailed, "the vault says it uses a passphrase but stores no Argon2id parameters")
            }
            return try await derive(passphraseFile: passphraseFile, kdf: kdf)
        case .key:
            if config.passphraseFilePath != nil {
                throw VaultError(
                    .wrongKeyKind,
                    "this vault is sealed with a key file, not a passphrase; drop --passphrase-file and provide the key file \(config.keyFilePath)")
            }
            if let credential = config.credentialPath {
                return MasterKey(bytes: try KeyFile.read(credential, checkPermissions: false), kind: .key, kdf: nil, origin: "systemd credential \(MasterKeyConfiguration.credentialName)")
            }
            guard FileManager.default.fileExists(atPath: config.keyFilePath) else {
                throw VaultError(
                    .keyMissing,
                    "the vault holds sealed data but its master key file \(config.keyFilePath) is missing; restore that file (or the systemd credential \(MasterKeyConfiguration.credentialName)) from your backup. agentbox never makes a new key over existing data")
            }
            return MasterKey(bytes: try KeyFile.read(config.keyFilePath, checkPermissions: true), kind: .key, kdf: nil, origin: "key file \(config.keyFilePath)")
        }
    }

    /// Obtains the key for a new vault: the credential, a passphrase, the existing key file, or a newly created key file.
    static func loadOrCreate(_ config: MasterKeyConfiguration) async throws -> MasterKey {
        if let credential = config.credentialPath {
            return MasterKey(bytes: try KeyFile.read(credential, checkPermissions: false), kind: .key, kdf: nil, origin: "systemd credential \(MasterKeyConfiguration.credentialName)")
        }
        if let passphraseFile = config.passphraseFilePath {
            return try await derive(passphraseFile: passphraseFile, kdf: config.newVaultKDF())
        }
        if !FileManager.default.fileExists(atPath: config.keyFilePath) {
            try KeyFile.create(config.keyFilePath, key: SecureBytes.random(count: AEAD.keyCount))
        }
        return MasterKey(bytes: try KeyFile.read(config.keyFilePath, checkPermissions: true), kind: .key, kdf: nil, origin: "key file \(config.keyFilePath)")
    }

    /// Stretches the passphrase with Argon2id on a thread of its own, off Swift's cooperative pool.
    private static func derive(passphraseFile: String, kdf: KDFParameters) async throws -> MasterKey {
        guard kdf.algorithm == "argon2id13" else {
            throw VaultError(.storeFailed, "the vault uses key derivation \(kdf.algorithm), which this agentbox does not know")
        }
        let passphrase = try KeyFile.readPassphrase(passphraseFile)
        let key: SecureBytes = try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result {
                    try SecureBytes(count: AEAD.keyCount) { out in
                        let result = passphrase.withUnsafeBytes { pass in
                            crypto_pwhash(
                                out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(out.count),
                                pass.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(pass.count),
                                kdf.salt, kdf.opsLimit, Int(kdf.memLimit), crypto_pwhash_ALG_ARGON2ID13)
                        }
                        guard result == 0 else {
                            throw VaultError(.io, "Argon2id could not allocate \(kdf.memLimit / 1_048_576) MiB to stretch the passphrase")
                        }
                    }
                })
            }
            thread.start()
        }
        return MasterKey(bytes: key, kind: .passphrase, kdf: kdf, origin: "passphrase file \(passphraseFile)")
    }
}

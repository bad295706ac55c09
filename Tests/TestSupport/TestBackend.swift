import Foundation
import Logging
import Services
import Storage
import Vault

/// A data directory in a temporary folder, opened by the real services code.
public struct TestBackend: Sendable {
    public let folder: TemporaryDirectory
    public let backend: Backend

    public var directory: DataDirectory { backend.directory }
    public var database: AppDatabase { backend.database }
    public var vault: Vault { backend.vault }
    public var credentials: CredentialSealing { CredentialSealing(database: database, vault: vault) }

    /// Opens (creating) a data directory the way `serve` does, with a key file unless `keys` says otherwise.
    public static func make(
        folder: TemporaryDirectory? = nil, keys: ((DataDirectory) -> MasterKeyConfiguration)? = nil
    ) async throws -> TestBackend {
        let folder = try folder ?? TemporaryDirectory()
        let directory = DataDirectory(path: folder.appending("data"))
        let configuration = keys?(directory) ?? MasterKeyConfiguration(keyFilePath: directory.defaultKeyFilePath)
        let backend = try await Backend.open(directory, keys: configuration, mode: .create, logger: Logger(label: "test"))
        return TestBackend(folder: folder, backend: backend)
    }

    /// Seeds a toolbelt item and stores `secret` as its credential.
    public func storeCredential(_ secret: String, name: String = "ada") async throws -> (chain: SeededChain, credential: AgentToolCredential) {
        let chain = try await Fixtures.seedChain(database, name: name)
        let credential = try await credentials.store(Array(secret.utf8), type: "api_key", accountIdentifier: "a***@example.com", forItem: chain.toolbeltItemID)
        return (chain, credential)
    }
}

extension SecureBytes {
    /// The bytes as text, for assertions in tests only.
    public var text: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}

extension TestBackend {
    /// Opens this data directory again in `mode` (the caller drops any backend that holds the lock first).
    public func reopen(keys: MasterKeyConfiguration? = nil, mode: Backend.Mode = .offlineRead) async throws -> Backend {
        try await Backend.open(
            directory, keys: keys ?? MasterKeyConfiguration(keyFilePath: directory.defaultKeyFilePath), mode: mode,
            logger: Logger(label: "test"))
    }
}

/// Argon2id at libsodium's minimum cost, so passphrase tests run in milliseconds.
public func cheapKDF() -> KDFParameters {
    var parameters = KDFParameters.interactive()
    parameters.opsLimit = 1
    parameters.memLimit = 8192
    return parameters
}

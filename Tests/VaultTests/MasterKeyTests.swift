import Foundation
import Services
import Storage
import TestSupport
import Testing
import Vault

/// Where the master key comes from, and refusing every way of losing or replacing it.
struct MasterKeyTests {
    private func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    private func writeKey(_ path: String, permissions: Int = 0o600) throws {
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() + "\n"
        try writeFile(atPath: path, contents: Data(key.utf8), attributes: [.posixPermissions: permissions])
    }

    @Test func keyFileIsCreatedWithMode0600InA0700Folder() async throws {
        let test = try await TestBackend.make()
        let keyFile = test.directory.defaultKeyFilePath
        #expect(try mode(keyFile) == 0o600)
        #expect(try mode((keyFile as NSString).deletingLastPathComponent) == 0o700)
        #expect(test.vault.masterKeyKind == .key)
    }

    @Test func aWrongMasterKeyIsRefusedAndNeverReplaced() async throws {
        let test = try await TestBackend.make()
        _ = try await test.storeCredential("keep me")
        let otherKey = test.folder.appending("other.key")
        try writeKey(otherKey)
        let before = try Data(contentsOf: URL(fileURLWithPath: otherKey))
        let error = await #expect(throws: VaultError.self) {
            try await test.reopen(keys: MasterKeyConfiguration(keyFilePath: otherKey))
        }
        #expect(error?.code == .keyMismatch)
        #expect(error?.message.contains("not the key of this vault") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: otherKey)) == before)
        // The right key still opens everything.
        let backend = try await test.reopen()
        #expect(try await backend.vault.verify().failures.isEmpty)
    }

    @Test func aMissingKeyFileOverExistingDataIsRefusedWithoutMakingANewKey() async throws {
        let test = try await TestBackend.make()
        let moved = test.folder.appending("master.key.bak")
        try FileManager.default.moveItem(atPath: test.directory.defaultKeyFilePath, toPath: moved)
        let error = await #expect(throws: VaultError.self) { try await test.reopen() }
        #expect(error?.code == .keyMissing)
        #expect(!FileManager.default.fileExists(atPath: test.directory.defaultKeyFilePath))
    }

    @Test(arguments: [0o640, 0o604, 0o644, 0o660])
    func aKeyFileReadableByGroupOrOthersIsRefused(permissions: Int) async throws {
        let test = try await TestBackend.make()
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: test.directory.defaultKeyFilePath)
        let error = await #expect(throws: VaultError.self) { try await test.reopen() }
        #expect(error?.code == .keyFileInsecure)
        #expect(error?.message.contains("chmod 600") == true)
    }

    @Test func aPassphraseVaultOpensOnlyWithItsPassphrase() async throws {
        let folder = try TemporaryDirectory()
        let passphrase = folder.appending("passphrase")
        let wrong = folder.appending("wrong")
        try writeFile(atPath: passphrase, contents: Data("correct horse battery staple\n".utf8), attributes: [.posixPermissions: 0o600])
        try writeFile(atPath: wrong, contents: Data("correct horse battery stapler\n".utf8), attributes: [.posixPermissions: 0o600])
        let credentialID: UUID
        let directory: DataDirectory
        do {
            let test = try await TestBackend.make(folder: folder) {
                MasterKeyConfiguration(keyFilePath: $0.defaultKeyFilePath, passphraseFilePath: passphrase, newVaultKDF: cheapKDF)
            }
            #expect(test.vault.masterKeyKind == .passphrase)
            #expect(!FileManager.default.fileExists(atPath: test.directory.defaultKeyFilePath))
            credentialID = try await test.storeCredential("behind a passphrase").credential.id
            directory = test.directory
        }
        func open(_ keys: MasterKeyConfiguration) async throws -> Backend {
            try await Backend.open(directory, keys: keys, mode: .offlineRead, logger: .init(label: "test"))
        }
        let backend = try await open(MasterKeyConfiguration(keyFilePath: directory.defaultKeyFilePath, passphraseFilePath: passphrase))
        #expect(try await CredentialSealing(database: backend.database, vault: backend.vault).open(credentialID: credentialID).text == "behind a passphrase")

        let mismatch = await #expect(throws: VaultError.self) {
            try await open(MasterKeyConfiguration(keyFilePath: directory.defaultKeyFilePath, passphraseFilePath: wrong))
        }
        #expect(mismatch?.code == .keyMismatch)
        let noPassphrase = await #expect(throws: VaultError.self) {
            try await open(MasterKeyConfiguration(keyFilePath: directory.defaultKeyFilePath))
        }
        #expect(noPassphrase?.code == .wrongKeyKind)
    }

    @Test func aSystemdCredentialIsPreferredOverTheKeyFile() async throws {
        let folder = try TemporaryDirectory()
        let credentials = folder.appending("credentials")
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        try writeKey(credentials + "/" + MasterKeyConfiguration.credentialName, permissions: 0o400)
        let test = try await TestBackend.make(folder: folder) {
            MasterKeyConfiguration(credentialsDirectory: credentials, keyFilePath: $0.defaultKeyFilePath)
        }
        #expect(test.vault.masterKeyOrigin == "systemd credential agentbox-master-key")
        #expect(!FileManager.default.fileExists(atPath: test.directory.defaultKeyFilePath))
    }
}

import Foundation
import Services
import Storage
import TestSupport
import Testing
import Vault

/// Sealing and opening secrets through the real vault and a real SQLite file.
struct SealingTests {
    @Test func sealedSecretOpensToTheSamePlaintext() async throws {
        let test = try await TestBackend.make()
        let (_, credential) = try await test.storeCredential("sk-live-round-trip")
        let opened = try await test.credentials.open(credentialID: credential.id)
        #expect(opened.text == "sk-live-round-trip")
        #expect(credential.encryptedCredentials.range(of: Data("sk-live-round-trip".utf8)) == nil)
    }

    @Test func everySealUsesAFreshNonce() async throws {
        let test = try await TestBackend.make()
        let context = SealContext(table: "agent_tool_credentials", rowID: "row-1", owners: ["agent_id": "a1"])
        let first = test.vault.seal(Array("same secret".utf8), for: context)
        let second = test.vault.seal(Array("same secret".utf8), for: context)
        #expect(first != second)
        #expect(first[5..<29] != second[5..<29])
    }

    @Test func ciphertextMovedToAnotherRowFailsToOpen() async throws {
        let test = try await TestBackend.make()
        let owners = ["agent_id": "a1", "agent_toolbelt_item_id": "i1"]
        let blob = test.vault.seal(Array("secret".utf8), for: SealContext(table: "agent_tool_credentials", rowID: "row-1", owners: owners))
        let error = #expect(throws: VaultError.self) {
            try test.vault.open(blob, for: SealContext(table: "agent_tool_credentials", rowID: "row-2", owners: owners))
        }
        #expect(error?.code == .openFailed)
    }

    @Test func ciphertextCopiedToAnotherAgentsRowFailsToOpen() async throws {
        let test = try await TestBackend.make()
        let (_, ada) = try await test.storeCredential("ada's key", name: "ada")
        let (_, bob) = try await test.storeCredential("bob's key", name: "bob")
        let replaced = try await test.database.replaceSealedValue(
            table: "agent_tool_credentials", rowID: bob.id.uuidString.lowercased(), expected: bob.encryptedCredentials,
            with: ada.encryptedCredentials)
        #expect(replaced)
        let error = await #expect(throws: VaultError.self) { try await test.credentials.open(credentialID: bob.id) }
        #expect(error?.code == .openFailed)
        #expect(try await test.credentials.open(credentialID: ada.id).text == "ada's key")
    }

    @Test func aFlippedByteAnywhereFailsToOpen() async throws {
        let test = try await TestBackend.make()
        let context = SealContext(table: "agent_tool_credentials", rowID: "row-1", owners: ["agent_id": "a1"])
        let blob = test.vault.seal(Array("secret".utf8), for: context)
        for index in blob.indices {
            var tampered = blob
            tampered[index] ^= 0x01
            #expect(throws: VaultError.self, "flipping byte \(index) must not open") { try test.vault.open(tampered, for: context) }
        }
    }

    @Test func plaintextNeverReachesTheDatabaseFiles() async throws {
        let test = try await TestBackend.make()
        let canary = "CANARY-\(UUID().uuidString)"
        _ = try await test.storeCredential(canary)
        for suffix in ["", "-wal"] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: test.directory.databasePath + suffix))
            #expect(bytes.range(of: Data(canary.utf8)) == nil, "plaintext found in agentbox.sqlite\(suffix)")
        }
    }
}

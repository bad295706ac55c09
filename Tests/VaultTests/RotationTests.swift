import Foundation
import Services
import Storage
import TestSupport
import Testing
import Vault

/// Data key rotation while the store keeps serving.
struct RotationTests {
    @Test func rotationUnderConcurrentReadsAndWritesLosesNothingAndFailsNoRead() async throws {
        let test = try await TestBackend.make()
        let chain = try await Fixtures.seedChain(test.database)
        var secrets: [UUID: String] = [:]
        for index in 0..<200 {
            let secret = "secret-\(index)-\(UUID().uuidString)"
            let credential = try await test.credentials.store(Array(secret.utf8), type: "api_key", accountIdentifier: nil, forItem: chain.toolbeltItemID)
            secrets[credential.id] = secret
        }
        let known = secrets
        let credentials = test.credentials
        let rotating = RunningFlag()

        // Readers open every secret again and again while the rotation runs.
        let readers = (0..<3).map { _ in
            Task {
                var reads = 0
                var failures: [String] = []
                while rotating.isRunning || reads == 0 {
                    for (id, secret) in known {
                        do {
                            if try await credentials.open(credentialID: id).text != secret { failures.append("\(id): wrong plaintext") }
                        } catch {
                            failures.append("\(id): \(error)")
                        }
                        reads += 1
                    }
                }
                return (reads, failures)
            }
        }
        // A writer stores new secrets during the rotation.
        let writer = Task {
            var written: [UUID: String] = [:]
            while rotating.isRunning || written.isEmpty {
                let secret = "written-\(UUID().uuidString)"
                let credential = try await credentials.store(Array(secret.utf8), type: "api_key", accountIdentifier: nil, forItem: chain.toolbeltItemID)
                written[credential.id] = secret
            }
            return written
        }

        let report = try await test.vault.rotate(batchSize: 16)
        rotating.stop()

        var totalReads = 0
        for reader in readers {
            let (reads, failures) = await reader.value
            totalReads += reads
            #expect(failures.isEmpty, "reads failed during rotation: \(failures.prefix(5))")
        }
        #expect(totalReads >= 200)
        #expect(report.newKeyVersion == 2)
        #expect(report.retiredVersions == [1])
        #expect(report.resealed >= 200)

        // Everything, old and newly written, opens afterwards; nothing uses key 1 any more.
        for (id, secret) in secrets.merging(try await writer.value, uniquingKeysWith: { first, _ in first }) {
            #expect(try await credentials.open(credentialID: id).text == secret)
            let stored = try #require(try await test.database.fetchAgentToolCredential(id: id))
            #expect(try SealedBlob(parsing: Array(stored.encryptedCredentials)).keyVersion == 2)
        }
        let keys = try await test.database.fetchVaultKeys()
        #expect(keys.map(\.state) == [.retired, .active])
        #expect(keys[0].wrappedKey == nil)
        #expect(try await test.vault.verify().failures.isEmpty)
    }

    @Test func rotationSurvivesARestartWithTheNewKey() async throws {
        let test = try await TestBackend.make()
        let (_, credential) = try await test.storeCredential("rotated then reopened")
        _ = try await test.vault.rotate()
        _ = try await test.vault.rotate()
        let reopened = try await test.reopen()
        #expect(reopened.vault.activeKeyVersion == 3)
        #expect(try await CredentialSealing(database: reopened.database, vault: reopened.vault).open(credentialID: credential.id).text == "rotated then reopened")
    }
}

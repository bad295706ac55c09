import Foundation
import Services
import Storage
import TestSupport
import Testing
import Vault

/// `vault verify` opens every sealed row and names the ones that fail.
struct VerificationTests {
    @Test func verifyFindsTamperedAndMovedRows() async throws {
        let test = try await TestBackend.make()
        let (_, intact) = try await test.storeCredential("plain-intact", name: "ada")
        let (_, tampered) = try await test.storeCredential("plain-tampered", name: "bob")
        let (_, moved) = try await test.storeCredential("plain-moved", name: "cy")

        var flipped = tampered.encryptedCredentials
        flipped[flipped.count - 3] ^= 0x80
        #expect(try await test.database.replaceSealedValue(
            table: "agent_tool_credentials", rowID: tampered.id.uuidString.lowercased(),
            expected: tampered.encryptedCredentials, with: flipped))
        #expect(try await test.database.replaceSealedValue(
            table: "agent_tool_credentials", rowID: moved.id.uuidString.lowercased(),
            expected: moved.encryptedCredentials, with: intact.encryptedCredentials))

        let report = try await test.vault.verify(batchSize: 2)
        #expect(report.opened == 1)
        #expect(Set(report.failures.map(\.context.rowID)) == [tampered.id.uuidString.lowercased(), moved.id.uuidString.lowercased()])
        #expect(report.failures.allSatisfy { $0.code == .openFailed })
        #expect(report.failures.allSatisfy { !$0.message.contains("plain-") }, "a failure report must not show plaintext")
    }
}

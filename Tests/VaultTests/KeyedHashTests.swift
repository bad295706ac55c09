import Foundation
import Services
import TestSupport
import Testing
import Vault

/// Keyed hashes under the server key: stable across restarts, separate per purpose and per vault.
struct KeyedHashTests {
    @Test func aKeyedHashIsStableAcrossARestartAndDiffersByPurposeAndVault() async throws {
        let test = try await TestBackend.make()
        let token = Array("abx_u_example-token".utf8)
        let forTokens = test.vault.keyedHash(token, for: .apiToken)
        #expect(forTokens.count == 32)
        #expect(forTokens != test.vault.keyedHash(token, for: .auditChain))
        #expect(forTokens != test.vault.keyedHash(Array("abx_u_example-tokem".utf8), for: .apiToken))

        let reopened = try await test.reopen()
        #expect(reopened.vault.keyedHash(token, for: .apiToken) == forTokens)
        _ = try await test.vault.rotate()
        #expect(test.vault.keyedHash(token, for: .apiToken) == forTokens, "data key rotation must not change token hashes")

        let other = try await TestBackend.make()
        #expect(other.vault.keyedHash(token, for: .apiToken) != forTokens)
    }
}

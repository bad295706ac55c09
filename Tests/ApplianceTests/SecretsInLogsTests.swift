import Foundation
import Services
import TestSupport
import Testing
import Vault

/// No secret or key in any line agentbox prints, at any log level.
struct SecretsInLogsTests {
    /// Runs every command that touches the vault at trace level and returns all they printed.
    private func everythingPrinted(_ agentbox: AgentboxProcess, _ flags: [String]) async throws -> String {
        let server = try await agentbox.serve(flags)
        #expect(try await server.get("/healthz").status == 200)
        var printed = try await server.stop()
        for command in [["vault", "status"], ["vault", "verify"], ["vault", "rotate"], ["vault", "verify"], ["db", "check"], ["db", "migrate"]] {
            let outcome = try await agentbox.run(command + flags)
            #expect(outcome.status == 0, "\(command): \(outcome.output)")
            printed += outcome.output
        }
        return printed
    }

    @Test func aCanarySecretAndThePassphraseNeverReachTheLogs() async throws {
        let folder = try TemporaryDirectory()
        let passphrase = "CANARY-PASSPHRASE-\(UUID().uuidString)"
        let secret = "CANARY-SECRET-\(UUID().uuidString)"
        let passphraseFile = folder.appending("passphrase")
        try writeFile(atPath: passphraseFile, contents: Data(passphrase.utf8), attributes: [.posixPermissions: 0o600])
        do {
            let test = try await TestBackend.make(folder: folder) {
                MasterKeyConfiguration(keyFilePath: $0.defaultKeyFilePath, passphraseFilePath: passphraseFile, newVaultKDF: cheapKDF)
            }
            _ = try await test.storeCredential(secret)
        }
        let flags = ["--data-dir", folder.appending("data"), "--passphrase-file", passphraseFile, "--log-level", "trace"]
        let printed = try await everythingPrinted(AgentboxProcess(folder: folder), flags)

        #expect(printed.contains("vault unsealed"), "trace output was not captured")
        #expect(!printed.contains(secret))
        #expect(!printed.contains(passphrase))
        #expect(!printed.contains("CANARY"))
    }

    @Test func theMasterKeyNeverReachesTheLogs() async throws {
        let folder = try TemporaryDirectory()
        let secret = "CANARY-SECRET-\(UUID().uuidString)"
        do {
            let test = try await TestBackend.make(folder: folder)
            _ = try await test.storeCredential(secret)
        }
        let keyText = try String(contentsOfFile: folder.appending("data/keys/master.key"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let flags = ["--data-dir", folder.appending("data"), "--log-level", "trace"]
        let printed = try await everythingPrinted(AgentboxProcess(folder: folder), flags)

        #expect(printed.contains("vault unsealed"), "trace output was not captured")
        #expect(!printed.contains(secret))
        #expect(!printed.contains(keyText))
        #expect(!printed.contains(String(keyText.prefix(16))))
    }
}

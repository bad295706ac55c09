import Foundation
import TestSupport
import Testing

/// `serve` refuses to start rather than lose or replace the vault's key.
struct MasterKeyRefusalTests {
    /// Starts and stops `serve` once so the folder holds a database and a vault.
    private func initializedDataDirectory(_ agentbox: AgentboxProcess) async throws -> String {
        let data = agentbox.folder.appending("data")
        _ = try await agentbox.serve(["--data-dir", data]).stop()
        return data
    }

    @Test func aWrongMasterKeyMakesServeRefuseToStart() async throws {
        let agentbox = AgentboxProcess(folder: try TemporaryDirectory())
        let data = try await initializedDataDirectory(agentbox)
        let keyFile = data + "/keys/master.key"
        let replacement = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() + "\n"
        try replacement.write(toFile: keyFile, atomically: false, encoding: .utf8)

        let outcome = try await agentbox.run(["serve", "--port", "0", "--data-dir", data])
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("is not the key of this vault (key check value mismatch)"))
        #expect(try String(contentsOfFile: keyFile, encoding: .utf8) == replacement, "the key file must never be replaced")
    }

    @Test func aMissingKeyFileMakesServeRefuseWithoutGeneratingOne() async throws {
        let agentbox = AgentboxProcess(folder: try TemporaryDirectory())
        let data = try await initializedDataDirectory(agentbox)
        try FileManager.default.removeItem(atPath: data + "/keys/master.key")

        let outcome = try await agentbox.run(["serve", "--port", "0", "--data-dir", data])
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("master key file \(data)/keys/master.key is missing"))
        #expect(!FileManager.default.fileExists(atPath: data + "/keys/master.key"))
    }

    @Test func aKeyFileReadableByOthersMakesServeRefuse() async throws {
        let agentbox = AgentboxProcess(folder: try TemporaryDirectory())
        let data = try await initializedDataDirectory(agentbox)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: data + "/keys/master.key")

        let outcome = try await agentbox.run(["serve", "--port", "0", "--data-dir", data])
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("can be read by group or others (mode 644); run `chmod 600"))
    }
}

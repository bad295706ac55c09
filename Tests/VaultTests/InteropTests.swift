import Foundation
import Services
import TestSupport
import Testing

/// The documented vault format, proven by an independent libsodium binding (PyNaCl).
struct InteropTests {
    private static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Interop/open_sealed_credential.py").path

    @Test func pyNaClOpensASealedCredentialFromTheSQLiteFile() async throws {
        let test = try await TestBackend.make()
        _ = try await test.vault.rotate()  // open a value sealed under data key 2, not just the first key
        let secret = #"{"api_key": "sk-interop-\#(UUID().uuidString)"}"#
        let (_, credential) = try await test.storeCredential(secret)

        let output = test.folder.appending("python.out")
        try writeFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script, test.directory.databasePath, test.directory.defaultKeyFilePath, credential.id.uuidString.lowercased()]
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: output)
        try process.run()
        process.waitUntilExit()

        let printed = try String(contentsOfFile: output, encoding: .utf8)
        #expect(process.terminationStatus == 0, "python3 failed: \(printed)")
        #expect(printed == secret)
    }
}

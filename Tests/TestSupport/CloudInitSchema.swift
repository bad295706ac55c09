import Foundation

/// Debian's `cloud-init schema`, the check of a droplet's user-data.
public enum CloudInitSchema {
    static let executable = "/usr/bin/cloud-init"

    /// `cloud-init schema -c` on `text`: its exit status and output; nil without cloud-init (an error under CI=true).
    public static func check(_ text: String) async throws -> (status: Int32, output: String)? {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw TestEnvironmentFailure("cloud-init is missing: run scripts/install-deps.sh test") }
            return nil
        }
        let folder = try TemporaryDirectory()
        let file = folder.appending("user-data.yaml")
        let output = folder.appending("output")
        try writeFile(atPath: file, contents: Data(text.utf8))
        try writeFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["schema", "-c", file]
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: output)
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        return (process.terminationStatus, try String(contentsOfFile: output, encoding: .utf8))
    }
}

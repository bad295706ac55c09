import Foundation
import TestSupport
import Testing

/// Other programs the tests run (psql, sqlite3, python3, sh), to completion.
enum Command {
    /// Runs a command in `folder` to completion (a bare name from /usr/bin); what it printed, or an error with that.
    static func run(_ command: [String], input: String? = nil, in folder: TemporaryDirectory) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0].hasPrefix("/") ? command[0] : "/usr/bin/\(command[0])")
        process.arguments = Array(command.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: folder.path)
        let output = folder.appending("command-\(UUID().uuidString).out")
        try writeFile(atPath: output, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: output))
        process.standardOutput = handle
        process.standardError = handle
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        try handle.close()
        let printed = try String(contentsOfFile: output, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: output)
        guard process.terminationStatus == 0 else {
            throw TestEnvironmentFailure("\(command.joined(separator: " ")) exited with \(process.terminationStatus): \(printed)")
        }
        return printed
    }
}

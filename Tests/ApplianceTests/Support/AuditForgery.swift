import Foundation
import TestSupport

/// What someone with write access to the database file could do to the audit log: drop its append-only triggers
/// and edit a record, with the sqlite3 command-line shell.
enum AuditForgery {
    /// Sets record `seq`'s target id to "forged" in the database at `path`; `scratch` holds the shell's output.
    static func edit(database path: String, seq: Int, scratch: TemporaryDirectory) async throws {
        let drops = scratch.appending("drops.sql")
        try writeFile(atPath: drops, contents: nil)
        _ = try await sqlite3([path, "SELECT 'DROP TRIGGER ' || name || ';' FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log';"], output: drops)
        let status = try await sqlite3(
            [path, try String(contentsOfFile: drops, encoding: .utf8) + "UPDATE audit_log SET target_id = 'forged' WHERE seq = \(seq);"], output: nil)
        guard status == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// Runs /usr/bin/sqlite3 to its end (polled: waitUntilExit can hang in a test process); its exit status.
    private static func sqlite3(_ arguments: [String], output: String?) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        // Waits for a lock for up to 5 s: the test's own connections may still be closing when the shell starts.
        process.arguments = ["-cmd", ".timeout 5000"] + arguments
        if let output { process.standardOutput = FileHandle(forWritingAtPath: output) }
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }
}

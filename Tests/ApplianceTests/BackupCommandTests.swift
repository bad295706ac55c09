import Foundation
import Storage
import TestSupport
import Testing

/// `agentbox backup` and `agentbox restore` as an operator runs them, beside a real `agentbox serve`.
struct BackupCommandTests {
    @Test func backupRunsWhileTheServerServesAndSaysTheKeyIsNotInside() async throws {
        let api = try await TestAPI.start()
        let agentbox = AgentboxProcess(folder: api.folder)
        let data = api.folder.appending("data")
        let file = api.folder.appending("nightly.sqlite")

        // Requests keep coming while the backup runs.
        let load = Task {
            var created = 0
            for index in 0..<40 {
                let reply = try await api.request("POST", "/api/v1/agents", token: api.adminToken, body: ["name": "agent-\(index)"])
                if reply.status == 201 { created += 1 }
            }
            return created
        }
        let outcome = try await agentbox.run(["backup", file, "--data-dir", data])
        #expect(try await load.value == 40)
        try await api.stop()

        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains("wrote \(file)"))
        #expect(outcome.output.contains("the master key is NOT in the backup: keep your key file, systemd credential or passphrase separately"))
        var status = stat()
        #expect(stat(file, &status) == 0 && status.st_mode & 0o777 == 0o600)

        let again = try await agentbox.run(["backup", file, "--data-dir", data])
        #expect(again.status != 0)
        #expect(again.output.contains("already exists"))

        let help = try await agentbox.run(["backup", "--help"])
        #expect(help.output.contains("keep your key file"))
    }

    @Test func restoreRefusesWhileAServerHoldsTheDataDirectory() async throws {
        let api = try await TestAPI.start()
        let agentbox = AgentboxProcess(folder: api.folder)
        let data = api.folder.appending("data")
        let file = api.folder.appending("backup.sqlite")
        #expect(try await agentbox.run(["backup", file, "--data-dir", data]).status == 0)

        let outcome = try await agentbox.run(["restore", file, "--force", "--data-dir", data])
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("in use by another agentbox process (pid \(api.server.process.processIdentifier))"))
        let health = try await api.server.get("/healthz")
        try await api.stop()
        #expect(health.status == 200)
        #expect(try FileManager.default.contentsOfDirectory(atPath: data).allSatisfy { !$0.contains("before-restore") && !$0.contains("restoring") })
    }

    @Test func restoreAfterACrashSwitchesAndKeepsThePreviousDatabaseWhole() async throws {
        let api = try await TestAPI.start()
        let agentbox = AgentboxProcess(folder: api.folder)
        let data = api.folder.appending("data")
        let file = api.folder.appending("backup.sqlite")
        #expect(try await api.request("POST", "/api/v1/agents", token: api.adminToken, body: ["name": "in-the-backup"]).status == 201)
        #expect(try await agentbox.run(["backup", file, "--data-dir", data]).status == 0)
        #expect(try await api.request("POST", "/api/v1/agents", token: api.adminToken, body: ["name": "after-the-backup"]).status == 201)
        // A crash: the last writes are still in the write-ahead log.
        kill(api.server.process.processIdentifier, SIGKILL)
        await agentbox.waitForExit(api.server.process)

        let outcome = try await agentbox.run(["restore", file, "--force", "--data-dir", data])
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains("restored \(file) into \(data)/agentbox.sqlite"))
        let kept = try #require(
            try FileManager.default.contentsOfDirectory(atPath: data).first { $0.hasPrefix("agentbox.sqlite.before-restore-") && !$0.hasSuffix("-wal") })
        #expect(outcome.output.contains("the previous database is kept as \(data)/\(kept)"))

        #expect(try await agentbox.run(["db", "check", "--data-dir", data]).status == 0)
        #expect(try await agentbox.run(["vault", "verify", "--data-dir", data]).status == 0)
        #expect(try await agentbox.run(["audit", "verify", "--data-dir", data]).status == 0)
        let restored = try await agentNames(data + "/agentbox.sqlite")
        #expect(restored.contains("in-the-backup") && !restored.contains("after-the-backup"))
        let previous = try await agentNames(data + "/" + kept)
        #expect(previous.contains("in-the-backup") && previous.contains("after-the-backup"))
    }

    private func agentNames(_ path: String) async throws -> [String] {
        let database = try AppDatabase.openExisting(path: path)
        defer { try? database.close() }
        let admin = try #require(try await database.fetchUser(name: "root"))
        return try await database.fetchAgents(userID: admin.id).map(\.name)
    }
}

import Foundation
import Services
import Storage
import TestSupport
import Testing

/// `agentbox doctor` finds each planted fault, names it with its fix, and exits 1; a sound installation passes.
struct DoctorCommandTests {
    /// A data directory made by the real code (then released, as after a server stopped) with one credential stored.
    private struct Installation {
        let folder: TemporaryDirectory
        let credentialID: String
        var data: String { folder.appending("data") }
        var database: String { data + "/agentbox.sqlite" }
        var agentbox: AgentboxProcess { AgentboxProcess(folder: folder) }

        static func make() async throws -> Installation {
            let folder = try TemporaryDirectory()
            let test = try await TestBackend.make(folder: folder)
            let (_, credential) = try await test.storeCredential("doctor-canary")
            let audit = AuditLog(vault: test.vault)
            for index in 0..<3 {
                try await test.database.transaction { tx in
                    try audit.append(AuditEvent(actor: .system, action: "test.event", targetID: "\(index)"), in: tx)
                }
            }
            return Installation(folder: folder, credentialID: credential.id.uuidString.lowercased())
        }

        func doctor(_ arguments: [String], environment: [String: String] = [:]) async throws -> AgentboxProcess.Outcome {
            var agentbox = self.agentbox
            agentbox.environment = environment
            return try await agentbox.run(["doctor", "--data-dir", data] + arguments)
        }
    }

    /// The line of a check in the text output.
    private func line(_ output: String, _ name: String) -> String {
        output.split(separator: "\n").first { $0.dropFirst(6).hasPrefix(name + ":") }.map(String.init) ?? ""
    }

    @Test func aSoundInstallationPassesEveryCheck() async throws {
        let installation = try await Installation.make()
        let outcome = try await installation.doctor(["--docker-socket", TestServices.dockerSocket])
        #expect(outcome.status == 0, "\(outcome.output)")
        for name in ["data_directory", "master_key", "database_integrity", "database_foreign_keys", "vault", "sealed_values", "audit_chain", "docker", "clock"] {
            #expect(line(outcome.output, name).hasPrefix("ok  "), "\(name): \(outcome.output)")
        }
        #expect(line(outcome.output, "sealed_values").contains("1 sealed value(s) open"))
        #expect(line(outcome.output, "docker").range(of: #"API 1\.\d+"#, options: .regularExpression) != nil, "the real engine's API version")
        #expect(outcome.output.contains(" 0 failed"))
        #expect(!outcome.output.contains("doctor-canary"))
    }

    @Test func aDataDirectoryOpenToOthersFails() async throws {
        let installation = try await Installation.make()
        #expect(chmod(installation.data, 0o755) == 0)
        let outcome = try await installation.doctor(["--docker-socket", TestServices.dockerSocket])
        #expect(outcome.status == 1)
        #expect(line(outcome.output, "data_directory").hasPrefix("FAIL"))
        #expect(line(outcome.output, "data_directory").contains("mode 0755"))
        #expect(outcome.output.contains("fix: chmod 700 \(installation.data)"))
    }

    @Test func aKeyFileReadableByOthersFails() async throws {
        let installation = try await Installation.make()
        let keyFile = installation.data + "/keys/master.key"
        #expect(chmod(keyFile, 0o644) == 0)
        let outcome = try await installation.doctor(["--docker-socket", TestServices.dockerSocket])
        #expect(outcome.status == 1)
        #expect(line(outcome.output, "master_key").hasPrefix("FAIL"))
        #expect(line(outcome.output, "master_key").contains("mode 0644 lets group or others read the master key"))
        #expect(outcome.output.contains("fix: chmod 600 \(keyFile)"))
        #expect(line(outcome.output, "data_directory").hasPrefix("ok"))
    }

    @Test func aTamperedSealedRowIsNamed() async throws {
        let installation = try await Installation.make()
        do {
            let database = try AppDatabase.openExisting(path: installation.database)
            let sealed = try #require(try await database.fetchSealedValues(after: nil, limit: 10).first { $0.table == "agent_tool_credentials" })
            var flipped = sealed.blob
            flipped[flipped.count - 4] ^= 0x10
            #expect(try await database.replaceSealedValue(table: sealed.table, rowID: sealed.rowID, expected: sealed.blob, with: flipped))
            try database.close()
        }
        let outcome = try await installation.doctor(["--docker-socket", TestServices.dockerSocket])
        #expect(outcome.status == 1)
        let sealed = line(outcome.output, "sealed_values")
        #expect(sealed.hasPrefix("FAIL"))
        #expect(sealed.contains("agent_tool_credentials/\(installation.credentialID)"))
        #expect(line(outcome.output, "vault").hasPrefix("ok"))
        #expect(line(outcome.output, "database_integrity").hasPrefix("ok"))
    }

    @Test func anEditedAuditRecordBreaksTheChain() async throws {
        let installation = try await Installation.make()
        // Someone with write access to the file drops the append-only triggers and edits a record.
        let drops = try sqlite(installation.database, "SELECT 'DROP TRIGGER ' || name || ';' FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log';")
        _ = try sqlite(installation.database, drops + "UPDATE audit_log SET target_id = 'forged' WHERE seq = (SELECT max(seq) - 1 FROM audit_log);")

        let outcome = try await installation.doctor(["--docker-socket", TestServices.dockerSocket])
        #expect(outcome.status == 1)
        let audit = line(outcome.output, "audit_chain")
        #expect(audit.hasPrefix("FAIL"))
        #expect(audit.contains("its contents do not match its hash: the record was edited"))
        #expect(line(outcome.output, "sealed_values").hasPrefix("ok"))
    }

    @Test func dockerDownFailsAndTheJSONSaysSo() async throws {
        let installation = try await Installation.make()
        let missing = installation.folder.appending("no-docker.sock")
        let outcome = try await installation.doctor(["--json"], environment: ["AGENTBOX_DOCKER_SOCKET": missing])
        #expect(outcome.status == 1)
        let json = try #require(outcome.output.split(separator: "\n").first { $0.hasPrefix("{") })
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(report["ok"] as? Bool == false)
        let checks = try #require(report["checks"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: checks.map { ($0["name"] as? String ?? "", $0) })
        let docker = try #require(byName["docker"])
        #expect(docker["status"] as? String == "fail")
        #expect((docker["detail"] as? String)?.contains("no Docker engine answers at \(missing)") == true)
        #expect((docker["fix"] as? String)?.contains("--docker-socket") == true)
        #expect(byName["vault"]?["status"] as? String == "ok")
        #expect(checks.filter { $0["status"] as? String == "fail" }.count == 1, "only Docker fails: \(json)")
    }

    @Test func doctorRunsBesideARunningServer() async throws {
        let installation = try await Installation.make()
        let server = try await installation.agentbox.serve(["--data-dir", installation.data, "--docker-socket", TestServices.dockerSocket])
        let outcome = try await installation.doctor(["--docker-socket", TestServices.dockerSocket])
        _ = try await server.stop()
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(line(outcome.output, "sealed_values").hasPrefix("ok"))
    }

    /// Runs SQL with the `sqlite3` command-line shell and returns what it printed.
    private func sqlite(_ database: String, _ sql: String) throws -> String {
        let folder = try TemporaryDirectory()
        let output = folder.appending("out")
        try writeFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        // Waits for a lock for up to 5 s: the test's own connections may still be closing when the shell starts.
        process.arguments = ["-cmd", ".timeout 5000", database, sql]
        process.standardOutput = FileHandle(forWritingAtPath: output)
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return try String(contentsOfFile: output, encoding: .utf8)
    }
}

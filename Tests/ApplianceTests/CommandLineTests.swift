import Foundation
import Services
import Storage
import TestSupport
import Testing

/// The offline commands, run as a user would.
struct CommandLineTests {
    @Test func helpListsEveryCommand() async throws {
        let agentbox = AgentboxProcess(folder: try TemporaryDirectory())
        let top = try await agentbox.run(["--help"])
        #expect(top.status == 0)
        for command in ["serve", "db", "vault", "version"] { #expect(top.output.contains("  \(command) ")) }
        let db = try await agentbox.run(["db", "--help"])
        for command in ["migrate", "check"] { #expect(db.output.contains("  \(command) ")) }
        let vault = try await agentbox.run(["vault", "--help"])
        for command in ["status", "rotate", "verify"] { #expect(vault.output.contains("  \(command) ")) }
        let serve = try await agentbox.run(["serve", "--help"])
        for flag in ["--data-dir", "--port", "--host", "--master-key-file", "--passphrase-file", "AGENTBOX_PORT"] {
            #expect(serve.output.contains(flag))
        }
        #expect(try await agentbox.run(["version"]).output.hasPrefix("agentbox "))
    }

    @Test func dbMigrateIsIdempotentAndDbCheckIsClean() async throws {
        let agentbox = AgentboxProcess(folder: try TemporaryDirectory())
        let data = ["--data-dir", agentbox.folder.appending("data")]
        let first = try await agentbox.run(["db", "migrate"] + data)
        #expect(first.status == 0)
        #expect(first.output.contains("applied migrations"))
        let second = try await agentbox.run(["db", "migrate"] + data)
        #expect(second.output.contains("is up to date"))
        let check = try await agentbox.run(["db", "check"] + data)
        #expect(check.status == 0)
        #expect(check.output.contains("integrity: ok"))
        #expect(check.output.contains("foreign keys: ok"))
    }

    @Test func offlineCommandsOnAnEmptyFolderSayWhatToDo() async throws {
        let agentbox = AgentboxProcess(folder: try TemporaryDirectory())
        let outcome = try await agentbox.run(["vault", "status", "--data-dir", agentbox.folder.appending("nothing")])
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("run `agentbox serve` or `agentbox db migrate`"))
    }

    @Test func anUnknownLogLevelIsAClearError() async throws {
        let agentbox = AgentboxProcess(folder: try TemporaryDirectory())
        let outcome = try await agentbox.run(["db", "check", "--log-level", "loud", "--data-dir", agentbox.folder.path])
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("unknown log level 'loud'"))
    }

    @Test func vaultRotateRetiresTheOldKeyAndStatusShowsIt() async throws {
        let folder = try TemporaryDirectory()
        do {
            let test = try await TestBackend.make(folder: folder)
            _ = try await test.storeCredential("rotate me")
        }
        let agentbox = AgentboxProcess(folder: folder)
        let data = ["--data-dir", folder.appending("data")]
        let rotate = try await agentbox.run(["vault", "rotate"] + data)
        #expect(rotate.status == 0)
        #expect(rotate.output.contains("rotated to data key 2: re-sealed 1 secret(s), retired key version(s) 1"))
        let status = try await agentbox.run(["vault", "status"] + data)
        #expect(status.output.contains("active data key: version 2"))
        #expect(status.output.contains("data key 1: retired"))
    }

    @Test func vaultVerifyNamesATamperedRowAndExitsNonZero() async throws {
        let folder = try TemporaryDirectory()
        let tamperedID: String
        do {
            let test = try await TestBackend.make(folder: folder)
            _ = try await test.storeCredential("intact", name: "ada")
            let (_, tampered) = try await test.storeCredential("tampered", name: "bob")
            var flipped = tampered.encryptedCredentials
            flipped[10] ^= 0x01
            tamperedID = tampered.id.uuidString.lowercased()
            #expect(try await test.database.replaceSealedValue(
                table: "agent_tool_credentials", rowID: tamperedID, expected: tampered.encryptedCredentials, with: flipped))
        }
        let outcome = try await AgentboxProcess(folder: folder).run(["vault", "verify", "--data-dir", folder.appending("data")])
        #expect(outcome.status == 1)
        #expect(outcome.output.contains("FAILED agent_tool_credentials/\(tamperedID): open_failed"))
        #expect(outcome.output.contains("1 sealed secret(s) opened, 1 failed"))
    }
}

/// `agentbox audit verify`, run as an operator would after someone edited the database file.
struct AuditVerifyCommandTests {
    @Test func auditVerifyFindsAnEditedRecordAndExitsNonZero() async throws {
        let folder = try TemporaryDirectory()
        do {
            let test = try await TestBackend.make(folder: folder)
            let audit = AuditLog(vault: test.vault)
            for index in 0..<3 {
                try await test.database.transaction { tx in
                    try audit.append(AuditEvent(actor: .system, action: "test.event", targetID: "\(index)"), in: tx)
                }
            }
        }
        let agentbox = AgentboxProcess(folder: folder)
        let data = ["--data-dir", folder.appending("data")]
        let intact = try await agentbox.run(["audit", "verify"] + data)
        #expect(intact.status == 0)
        #expect(intact.output.contains("audit log intact: 3 record(s) checked"))

        // Someone with write access to the file drops the append-only triggers and edits a record.
        try await AuditForgery.edit(database: folder.appending("data/agentbox.sqlite"), seq: 2, scratch: folder)

        let broken = try await agentbox.run(["audit", "verify"] + data)
        #expect(broken.status == 1)
        #expect(broken.output.contains("audit log BROKEN at record 2: its contents do not match its hash"))
    }
}

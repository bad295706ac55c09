import Foundation
import JSONSchema
import Logging
import Services
import Storage
import Synchronization
import TestSupport
import Testing
import Vault

/// `agentbox backup` and `agentbox restore`: online, consistent copies, and a restore that checks before it switches.
struct BackupTests {
    /// The key configuration of a test backend's data directory (its key file).
    private func keys(_ test: TestBackend) -> MasterKeyConfiguration {
        MasterKeyConfiguration(keyFilePath: test.directory.defaultKeyFilePath)
    }

    /// Opens a restored data directory read-only with the given key.
    private func open(_ directory: DataDirectory, keys: MasterKeyConfiguration) async throws -> Backend {
        try await Backend.open(directory, keys: keys, mode: .offlineRead, logger: Logger(label: "test"))
    }

    @Test func aBackupTakenDuringWritesRestoresToASoundDatabaseWhoseSealedRowsOpen() async throws {
        let test = try await TestBackend.make()
        let plane = ControlPlane(backend: test.backend)
        let chain = try await Fixtures.seedChain(test.database)
        let admin = Principal.user(try #require(try await test.database.fetchUser(id: chain.userID)))

        // Writers through the services for the whole backup: agents, and credentials that each revoke the one before.
        let running = RunningFlag()
        let writes = Counter()
        let writer = Task {
            var index = 0
            while running.isRunning {
                _ = try await plane.agents.create(name: "load-\(index)", description: nil, by: admin)
                _ = try await plane.credentials.create(
                    itemID: chain.toolbeltItemID, type: "api_key", credentials: .object(["api_key": .string("canary-\(index)")]),
                    accountIdentifier: nil, by: admin)
                index += 1
                writes.add()
            }
            return index
        }
        while writes.value < 20 { try await Task.sleep(for: .milliseconds(5)) }
        let before = writes.value
        let file = test.folder.appending("during-load.sqlite")
        let report = try await Backups.backup(test.directory, to: file)
        let after = writes.value
        while writes.value < after + 20 { try await Task.sleep(for: .milliseconds(5)) }
        running.stop()
        let total = try await writer.value
        #expect(report.file == file)
        #expect(after > before || total > before, "the writers must have run while the backup was taken")

        let target = DataDirectory(path: test.folder.appending("restored"))
        let restored = try await Backups.restore(from: file, into: target, keys: keys(test), replaceExisting: false)
        #expect(restored.previous == nil)
        let backend = try await open(target, keys: keys(test))
        #expect(try backend.database.integrityCheck() == ["ok"])
        #expect(try backend.database.foreignKeyViolations().isEmpty)
        let verification = try await backend.vault.verify()
        #expect(verification.failures.isEmpty)
        #expect(verification.opened >= before, "every credential written before the backup is in it, and opens")
        #expect(restored.sealedValuesOpened == verification.opened)
        // One snapshot: the item has exactly one active credential (each store revokes the previous in its transaction),
        // and the audit chain, appended in the same transactions, is whole.
        let active = try await backend.database.snapshot { tx in
            try tx.agentToolCredentials(itemID: chain.toolbeltItemID, statuses: [.active])
        }
        #expect(active.count == 1)
        #expect(try await AuditLog(vault: backend.vault).verify(backend.database).isIntact)
        let agents = try await backend.database.fetchAgents(userID: chain.userID).count - 1
        #expect(agents >= before && agents <= total, "the copy holds the agents of one moment: \(agents) of \(total)")
    }

    @Test func aBackupHoldsNoKeyMaterialIsPrivateAndIsNeverOverwritten() async throws {
        let test = try await TestBackend.make()
        _ = try await test.storeCredential("canary-secret-value")
        let file = test.folder.appending("backup.sqlite")
        _ = try await Backups.backup(test.directory, to: file)

        var status = stat()
        #expect(stat(file, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        let backup = try Data(contentsOf: URL(fileURLWithPath: file))
        let keyText = try String(contentsOfFile: test.directory.defaultKeyFilePath, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let rawKey = try #require(Data(base64Encoded: keyText))
        #expect(rawKey.count == 32)
        #expect(backup.range(of: Data(keyText.utf8)) == nil, "the key file's text is in the backup")
        #expect(backup.range(of: rawKey) == nil, "the master key's bytes are in the backup")
        #expect(backup.range(of: Data("canary-secret-value".utf8)) == nil, "a secret is in the backup in plain text")

        let error = await #expect(throws: ServiceError.self) { try await Backups.backup(test.directory, to: file) }
        #expect(error?.message.contains("already exists") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == backup)
    }

    @Test func restoreKeepsThePreviousDatabaseAndSwitchesToTheBackup() async throws {
        let folder = try TemporaryDirectory()
        let file = folder.appending("backup.sqlite")
        let directory: DataDirectory
        let keys: MasterKeyConfiguration
        let chain: UUID
        do {
            let test = try await TestBackend.make(folder: folder)
            directory = test.directory
            keys = self.keys(test)
            chain = try await Fixtures.seedChain(test.database).userID
            _ = try await Backups.backup(test.directory, to: file)
            _ = try await test.database.insert(Agent(userID: chain, name: "written-after-the-backup"))
        }
        // The backend is gone, as after a server stopped; its lock goes with its file descriptor (which a child
        // process that other tests spawn at that moment may hold until its exec closes it).
        let deadline = ContinuousClock.now + .seconds(10)
        while DataDirectoryLock.holder(of: directory) != nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let refused = await #expect(throws: ServiceError.self) {
            try await Backups.restore(from: file, into: directory, keys: keys, replaceExisting: false)
        }
        #expect(refused?.message.contains("--force") == true)

        let report = try await Backups.restore(from: file, into: directory, keys: keys, replaceExisting: true)
        let previous = try #require(report.previous)
        #expect(previous.hasPrefix(directory.databasePath + ".before-restore-"))
        #expect(!FileManager.default.fileExists(atPath: directory.databasePath + "-wal"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".restoring-") }.isEmpty)

        let restored = try await open(directory, keys: keys)
        #expect(try await restored.database.fetchAgents(userID: chain).map(\.name) == ["ada-agent"])
        let kept = try AppDatabase.openExisting(path: previous)
        #expect(try await kept.fetchAgents(userID: chain).map(\.name).sorted() == ["ada-agent", "written-after-the-backup"])
    }

    @Test(.enabled(if: geteuid() == 0, "only root can hand files to another user"))
    func restoreRunAsRootLeavesTheDatabaseToTheDataDirectorysOwner() async throws {
        let folder = try TemporaryDirectory()
        let file = folder.appending("backup.sqlite")
        let directory: DataDirectory
        let keys: MasterKeyConfiguration
        do {
            let test = try await TestBackend.make(folder: folder)
            directory = test.directory
            keys = self.keys(test)
            _ = try await Backups.backup(test.directory, to: file)
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while DataDirectoryLock.holder(of: directory) != nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        // The data directory belongs to the service's user, as /var/lib/agentbox does.
        let service: uid_t = 4242
        for name in [""] + (FileManager.default.subpaths(atPath: directory.path) ?? []) {
            #expect(chown(directory.path + "/" + name, service, service) == 0)
        }

        _ = try await Backups.restore(from: file, into: directory, keys: keys, replaceExisting: true)
        for path in [directory.databasePath, directory.lockPath] {
            var status = stat()
            #expect(stat(path, &status) == 0)
            #expect(status.st_uid == service && status.st_gid == service, "\(path) belongs to uid \(status.st_uid)")
        }
    }

    @Test func restoreNamesATamperedSealedRowAndChangesNothing() async throws {
        let test = try await TestBackend.make()
        let (_, intact) = try await test.storeCredential("plain-intact", name: "ada")
        let (_, tampered) = try await test.storeCredential("plain-tampered", name: "bob")
        var flipped = tampered.encryptedCredentials
        flipped[flipped.count - 5] ^= 0x01
        #expect(try await test.database.replaceSealedValue(
            table: "agent_tool_credentials", rowID: tampered.id.uuidString.lowercased(), expected: tampered.encryptedCredentials,
            with: flipped))
        let file = test.folder.appending("tampered.sqlite")
        _ = try await Backups.backup(test.directory, to: file)

        let target = DataDirectory(path: test.folder.appending("target"))
        let error = await #expect(throws: ServiceError.self) {
            try await Backups.restore(from: file, into: target, keys: keys(test), replaceExisting: true)
        }
        let message = error?.message ?? ""
        #expect(message.contains("agent_tool_credentials/\(tampered.id.uuidString.lowercased())"))
        #expect(!message.contains(intact.id.uuidString.lowercased()))
        #expect(!message.contains("plain-"))
        #expect(!target.hasDatabase)
        #expect(try FileManager.default.contentsOfDirectory(atPath: target.path).allSatisfy { !$0.hasPrefix("agentbox.sqlite") })
    }

    @Test func restoreRefusesAFileThatIsNotAnAgentboxDatabase() async throws {
        let test = try await TestBackend.make()
        let target = DataDirectory(path: test.folder.appending("target"))
        let text = test.folder.appending("notes.txt")
        try writeFile(atPath: text, contents: Data(String(repeating: "not a database\n", count: 400).utf8))
        let notSQLite = await #expect(throws: ServiceError.self) {
            try await Backups.restore(from: text, into: target, keys: keys(test), replaceExisting: true)
        }
        #expect(notSQLite?.message.contains("is not an agentbox database") == true)

        let other = test.folder.appending("other.sqlite")
        let sqlite = try AppDatabase.open(path: other)
        try sqlite.close()
        let foreign = await #expect(throws: ServiceError.self) {
            try await Backups.restore(from: other, into: target, keys: keys(test), replaceExisting: true)
        }
        #expect(foreign?.message.contains("no agentbox schema") == true)
        #expect(!target.hasDatabase)
    }

    @Test func restoreRefusesABackupFromANewerAgentbox() async throws {
        let test = try await TestBackend.make()
        let file = test.folder.appending("backup.sqlite")
        _ = try await Backups.backup(test.directory, to: file)
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [file, "INSERT INTO grdb_migrations (identifier) VALUES ('999_from_the_future');"]
        try sqlite.run()
        sqlite.waitUntilExit()
        #expect(sqlite.terminationStatus == 0)

        let target = DataDirectory(path: test.folder.appending("target"))
        let error = await #expect(throws: ServiceError.self) {
            try await Backups.restore(from: file, into: target, keys: keys(test), replaceExisting: true)
        }
        #expect(error?.message.contains("newer agentbox") == true)
        #expect(error?.message.contains("999_from_the_future") == true)
        #expect(!target.hasDatabase)
    }

    @Test func restoreRefusesABackupSealedWithAnotherMasterKey() async throws {
        let test = try await TestBackend.make()
        _ = try await test.storeCredential("secret")
        let file = test.folder.appending("backup.sqlite")
        _ = try await Backups.backup(test.directory, to: file)

        let other = try await TestBackend.make()
        let target = DataDirectory(path: test.folder.appending("target"))
        let error = await #expect(throws: ServiceError.self) {
            try await Backups.restore(from: file, into: target, keys: keys(other), replaceExisting: true)
        }
        #expect(error?.message.contains("does not open with the current master key") == true)
        #expect(!target.hasDatabase)
    }

    @Test func restoreRefusesADataDirectoryHeldByAnotherProcess() async throws {
        let test = try await TestBackend.make()
        let file = test.folder.appending("backup.sqlite")
        _ = try await Backups.backup(test.directory, to: file)
        // `test.backend` holds the lock as a serving process does.
        let error = await #expect(throws: ServiceError.self) {
            try await Backups.restore(from: file, into: test.directory, keys: keys(test), replaceExisting: true)
        }
        #expect(error?.code == .dataDirectoryInUse)
    }
}

/// A count shared by a writer task and the test.
private final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

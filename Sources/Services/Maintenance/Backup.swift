import Foundation
import Storage
import Vault

/// `agentbox backup` and `agentbox restore`: consistent copies of the database, and a checked switch back to one.
///
/// A backup holds the database only. The master key (key file, systemd credential or passphrase) is never in it:
/// the sealed credentials of a backup open only with the key kept separately.
public enum Backups {
    /// What `backup` wrote.
    public struct BackupReport: Sendable {
        /// The backup file.
        public var file: String
        /// Its size in bytes.
        public var bytes: Int64
        /// The database it copies.
        public var source: String
        /// The migrations applied to the copied database.
        public var schema: [String]
    }

    /// What `restore` did.
    public struct RestoreReport: Sendable {
        /// The backup file restored.
        public var file: String
        /// The database it became.
        public var database: String
        /// Where the database it replaced is kept, if there was one.
        public var previous: String?
        /// The migrations of the restored database, after any this version applied.
        public var schema: [String]
        /// Migrations this version applied to an older backup.
        public var applied: [String]
        /// Sealed values that opened with the current master key (all of them).
        public var sealedValuesOpened: Int
        /// Where the master key came from.
        public var masterKeyOrigin: String
    }

    /// Writes a consistent snapshot of the data directory's database to `file` (mode 0600) with SQLite's online
    /// backup API. Reads only and takes no lock, so it runs beside a serving process. Refuses to overwrite anything.
    public static func backup(_ directory: DataDirectory, to file: String) async throws -> BackupReport {
        try directory.requireDatabase()
        let target = URL(fileURLWithPath: file).standardizedFileURL.path
        let folder = (target as NSString).deletingLastPathComponent
        let partial = folder + "/." + (target as NSString).lastPathComponent + ".partial-\(UUID().uuidString.lowercased())"
        try await BlockingWork.run {
            try refuseExisting(target)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ServiceError(.invalidRequest, "the folder \(folder) for the backup does not exist; create it or choose another path")
            }
            try createPrivateFile(partial)
        }
        do {
            let database = try await BlockingWork.run { try AppDatabase.openExisting(path: directory.databasePath) }
            let schema = try await BlockingWork.run { try database.schemaVersion() }
            let integrity = try await database.backup(to: partial)
            try await BlockingWork.run { try database.close() }
            guard integrity == ["ok"] else {
                throw ServiceError(
                    .dataDirectoryUnusable,
                    "the copy of \(directory.databasePath) fails SQLite's integrity check (\(integrity.prefix(3).joined(separator: "; "))); run `agentbox doctor` on the data directory")
            }
            let bytes = try await BlockingWork.run { try publish(partial, as: target) }
            return BackupReport(file: target, bytes: bytes, source: directory.databasePath, schema: schema)
        } catch {
            try? await BlockingWork.run { removeDatabaseFiles(partial) }
            throw error
        }
    }

    /// Replaces the data directory's database with the backup in `file`, after checking it.
    ///
    /// Holds the data directory's lock (refused while a server runs). Works on a copy inside the data directory:
    /// refuses a file that is not an agentbox database, fails `integrity_check` or `foreign_key_check`, comes from a
    /// newer agentbox, or holds a sealed value that does not open with the current master key (naming each one).
    /// Only then keeps the current database as `agentbox.sqlite.before-restore-<time>` and renames the copy into
    /// place, so the switch is atomic. `replaceExisting` must be true when a database exists.
    public static func restore(
        from file: String, into directory: DataDirectory, keys: MasterKeyConfiguration, replaceExisting: Bool, now: Date = Date()
    ) async throws -> RestoreReport {
        let source = URL(fileURLWithPath: file).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ServiceError(.invalidRequest, "there is no backup file at \(source)")
        }
        guard source != directory.databasePath else {
            throw ServiceError(.invalidRequest, "\(source) is the data directory's own database; give a file written by `agentbox backup`")
        }
        try directory.create()
        let lock = try DataDirectoryLock.acquire(directory)
        defer { withExtendedLifetime(lock) {} }
        if directory.hasDatabase, !replaceExisting {
            throw ServiceError(
                .conflict,
                "\(directory.path) already holds a database; run again with --force to replace it (the current one is kept as agentbox.sqlite.before-restore-<time>)")
        }

        let stamp = Self.stamp(now)
        let staging = directory.databasePath + ".restoring-\(stamp)"
        try await BlockingWork.run {
            removeDatabaseFiles(staging)
            try copyFile(source, to: staging)
            // Run as root (e.g. `sudo agentbox restore` on /var/lib/agentbox), the files must still be the service's.
            try matchOwner(of: directory.path, staging, directory.lockPath)
        }
        let checked: Checked
        do {
            checked = try await check(staging, source: source, keys: keys)
        } catch {
            try? await BlockingWork.run { removeDatabaseFiles(staging) }
            throw error
        }

        let current = directory.databasePath
        let previous = directory.hasDatabase ? current + ".before-restore-\(stamp)" : nil
        try await BlockingWork.run {
            if let previous { try preserve(current, as: previous) }
            try switchInto(staging, current: current, folder: directory.path)
        }
        return RestoreReport(
            file: source, database: current, previous: previous, schema: checked.schema, applied: checked.applied,
            sealedValuesOpened: checked.opened, masterKeyOrigin: checked.masterKeyOrigin)
    }

    // MARK: - Checking a backup

    private struct Checked: Sendable {
        var schema: [String]
        var applied: [String]
        var opened: Int
        var masterKeyOrigin: String
    }

    /// Opens the staged copy and proves it is a sound agentbox database whose every sealed value opens.
    private static func check(_ staging: String, source: String, keys: MasterKeyConfiguration) async throws -> Checked {
        let database: AppDatabase
        do {
            database = try await BlockingWork.run { try AppDatabase.openExisting(path: staging) }
        } catch let error as StorageError where error.code == .corrupt {
            throw notAgentbox(source, "SQLite cannot read it as a database")
        }
        do {
            let checked = try await check(database, source: source, keys: keys)
            try await BlockingWork.run {
                try database.checkpoint()
                try database.close()
                // The log was checkpointed: the file holds everything, and no one else opened this copy.
                var status = stat()
                if stat(staging + "-wal", &status) == 0, status.st_size > 0 {
                    throw ServiceError(.dataDirectoryUnusable, "the restored copy \(staging) kept a non-empty write-ahead log after closing; retry the restore")
                }
                unlink(staging + "-wal")
                unlink(staging + "-shm")
            }
            return checked
        } catch {
            try? await BlockingWork.run { try database.close() }
            throw error
        }
    }

    private static func check(_ database: AppDatabase, source: String, keys: MasterKeyConfiguration) async throws -> Checked {
        let before: [String]
        do {
            before = try await BlockingWork.run { try database.schemaVersion() }
        } catch let error as StorageError where error.code == .corrupt {
            throw notAgentbox(source, "SQLite cannot read it as a database")
        }
        guard !before.isEmpty else { throw notAgentbox(source, "it has no agentbox schema") }
        let integrity = try await BlockingWork.run { try database.integrityCheck() }
        guard integrity == ["ok"] else {
            throw ServiceError(
                .unprocessable,
                "\(source) fails SQLite's integrity check (\(integrity.prefix(3).joined(separator: "; "))); nothing was changed: use another backup")
        }
        let dangling = try await BlockingWork.run { try database.foreignKeyViolations() }
        guard dangling.isEmpty else {
            throw ServiceError(
                .unprocessable,
                "\(source) fails SQLite's foreign key check (\(dangling.prefix(3).map(\.description).joined(separator: "; "))); nothing was changed: use another backup")
        }
        do {
            try await BlockingWork.run { try database.migrate() }
        } catch let error as StorageError where error.code == .newerSchema {
            throw ServiceError(.unprocessable, "\(source) comes from a newer agentbox: \(error.message); nothing was changed")
        }
        let after = try await BlockingWork.run { try database.schemaVersion() }

        let store = DatabaseVaultStore(database: database)
        guard try await store.loadHeader() != nil else { throw notAgentbox(source, "it holds no vault") }
        let vault: Vault
        do {
            vault = try await Vault.unseal(keys, store: store)
        } catch let error as VaultError {
            throw ServiceError(
                .unprocessable, "the backup \(source) does not open with the current master key: \(error.message); nothing was changed")
        }
        let report = try await vault.verify()
        guard report.failures.isEmpty else {
            let named = report.failures.prefix(20).map { "\($0.context) (\($0.code))" }.joined(separator: ", ")
            let more = report.failures.count > 20 ? " and \(report.failures.count - 20) more" : ""
            throw ServiceError(
                .unprocessable,
                "\(report.failures.count) sealed value(s) in \(source) do not open with the current master key: \(named)\(more); nothing was changed: use another backup, or the master key it was made with")
        }
        return Checked(
            schema: after, applied: after.filter { !before.contains($0) }, opened: report.opened, masterKeyOrigin: vault.masterKeyOrigin)
    }

    private static func notAgentbox(_ source: String, _ why: String) -> ServiceError {
        ServiceError(.unprocessable, "\(source) is not an agentbox database (\(why)); give a file written by `agentbox backup`")
    }

    // MARK: - Files

    /// `20250131T235959Z`: sortable, and valid in any file name.
    static func stamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        return String(format: "%04d", parts.year ?? 0) + two(parts.month) + two(parts.day) + "T" + two(parts.hour) + two(parts.minute)
            + two(parts.second) + "Z"
    }

    private static func systemError(_ what: String) -> ServiceError {
        ServiceError(.dataDirectoryUnusable, "\(what): \(String(cString: strerror(errno)))")
    }

    /// Fails when anything (a file, a folder, a dangling link) is at `path`.
    private static func refuseExisting(_ path: String) throws {
        var status = stat()
        if lstat(path, &status) == 0 {
            throw ServiceError(.conflict, "\(path) already exists; agentbox backup never overwrites a file: choose a new name")
        }
    }

    /// Creates an empty file readable and writable by its owner only.
    private static func createPrivateFile(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw systemError("cannot create \(path)") }
        defer { close(fd) }
        guard fchmod(fd, 0o600) == 0 else { throw systemError("cannot set the mode of \(path)") }
    }

    /// Moves the finished backup to its name without ever replacing a file there; returns its size.
    private static func publish(_ partial: String, as target: String) throws -> Int64 {
        guard link(partial, target) == 0 else {
            if errno == EEXIST {
                throw ServiceError(.conflict, "\(target) already exists; agentbox backup never overwrites a file: choose a new name")
            }
            throw systemError("cannot create \(target)")
        }
        unlink(partial)
        syncFolder(of: target)
        var status = stat()
        guard stat(target, &status) == 0 else { throw systemError("cannot read \(target)") }
        return Int64(status.st_size)
    }

    /// Copies `source` to a new file `target` (0600), durably.
    private static func copyFile(_ source: String, to target: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw ServiceError(.invalidRequest, "cannot read \(source): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard output >= 0 else { throw systemError("cannot create \(target)") }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count == 0 { break }
            guard count > 0 else { throw ServiceError(.invalidRequest, "cannot read \(source): \(String(cString: strerror(errno)))") }
            var written = 0
            while written < count {
                let step = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, count - written) }
                guard step > 0 else { throw systemError("cannot write \(target)") }
                written += step
            }
        }
        guard fsync(output) == 0 else { throw systemError("cannot write \(target)") }
    }

    /// Gives `paths` the owner and group of `folder` when running as root; a no-op otherwise.
    private static func matchOwner(of folder: String, _ paths: String...) throws {
        guard geteuid() == 0 else { return }
        var status = stat()
        guard stat(folder, &status) == 0 else { throw systemError("cannot read \(folder)") }
        for path in paths where FileManager.default.fileExists(atPath: path) {
            guard chown(path, status.st_uid, status.st_gid) == 0 else { throw systemError("cannot give \(path) to uid \(status.st_uid)") }
        }
    }

    /// Keeps the current database under `kept`, complete: its write-ahead log is checkpointed into it first (or,
    /// when it cannot be opened, kept beside it under the matching name). The current name stays in place.
    private static func preserve(_ current: String, as kept: String) throws {
        do {
            let old = try AppDatabase.openExisting(path: current)
            try old.checkpoint()
            try old.close()
        } catch {
            if FileManager.default.fileExists(atPath: current + "-wal"), link(current + "-wal", kept + "-wal") != 0 {
                throw systemError("cannot keep \(current)-wal as \(kept)-wal")
            }
        }
        guard link(current, kept) == 0 else { throw systemError("cannot keep \(current) as \(kept)") }
    }

    /// Renames the checked copy over the database in one step, then removes the replaced database's `-wal` and `-shm`.
    private static func switchInto(_ staging: String, current: String, folder: String) throws {
        guard rename(staging, current) == 0 else { throw systemError("cannot rename \(staging) to \(current)") }
        unlink(current + "-wal")
        unlink(current + "-shm")
        syncFolder(of: current)
    }

    /// Removes an SQLite file and its companions, ignoring missing ones.
    private static func removeDatabaseFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
    }

    /// Makes a rename or link in the file's folder durable.
    private static func syncFolder(of path: String) {
        let fd = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

import ArgumentParser
import Services

/// What every backup message says about the key.
private let keyReminder =
    "the master key is NOT in the backup: keep your key file, systemd credential or passphrase separately; without it the sealed credentials in the backup cannot be opened"

/// `agentbox backup FILE`: a consistent copy of the database, taken while the server runs.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent copy of the database to FILE (mode 0600), even while a server runs.",
        discussion: """
            Uses SQLite's online backup API: the copy is the database as of one commit, and the server keeps \
            serving meanwhile. Refuses to overwrite an existing file. The master key is never in the backup: \
            keep your key file (<data-dir>/keys/master.key), systemd credential or passphrase separately, \
            or the sealed credentials of the backup cannot be opened. Restore with `agentbox restore FILE`.
            """)

    @Argument(help: ArgumentHelp("The backup file to create.", valueName: "file"))
    var file: String

    @OptionGroup var data: DataOptions

    func run() async throws {
        _ = try data.prepareProcess(label: "agentbox.backup")
        let report = try await Backups.backup(data.directory, to: file)
        print("wrote \(report.file) (\(report.bytes) bytes, mode 0600): a consistent copy of \(report.source), integrity ok, schema \(report.schema.joined(separator: ", "))")
        print(keyReminder)
    }
}

/// `agentbox restore FILE`: puts a backup in place of the database, after checking it opens with the current key.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the database with a backup, after checking that it is sound and that every sealed value opens.",
        discussion: """
            Stop the server first: restore refuses while a process holds the data directory. The backup is copied \
            into the data directory and checked there: it must be an agentbox database, pass integrity_check and \
            foreign_key_check, not come from a newer agentbox, and every sealed value must open with the current \
            master key (the key is never in a backup: keep your key file, systemd credential or passphrase \
            separately, and give it as for `serve`). Only then is the current database kept as \
            agentbox.sqlite.before-restore-<time> and the copy renamed into place in one step. Replacing an \
            existing database needs --force.
            """)

    @Argument(help: ArgumentHelp("A file written by `agentbox backup`.", valueName: "file"))
    var file: String

    @Flag(help: "Replace the data directory's existing database (it is kept as agentbox.sqlite.before-restore-<time>).")
    var force = false

    @OptionGroup var data: DataOptions

    func run() async throws {
        _ = try data.prepareProcess(label: "agentbox.restore")
        let report = try await Backups.restore(from: file, into: data.directory, keys: data.masterKey, replaceExisting: force)
        var schema = report.schema.joined(separator: ", ")
        if !report.applied.isEmpty { schema += " (migrated: \(report.applied.joined(separator: ", ")))" }
        print("restored \(report.file) into \(report.database): integrity ok, schema \(schema), \(report.sealedValuesOpened) sealed value(s) open with the master key from \(report.masterKeyOrigin)")
        if let previous = report.previous {
            print("the previous database is kept as \(previous)")
        }
        print("start the server again: agentbox serve --data-dir \(data.directory.path)")
    }
}

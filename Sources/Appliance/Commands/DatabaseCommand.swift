import ArgumentParser
import Services

/// `agentbox db`: offline maintenance of the SQLite file.
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Migrate and check the database.",
        subcommands: [Migrate.self, Check.self])

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the database or bring its schema up to date (a no-op when it is current).",
            discussion: "Refuses while a server holds the data directory.")

        @OptionGroup var data: DataOptions

        func run() async throws {
            _ = try data.prepareProcess(label: "agentbox.db")
            let applied = try await Maintenance.migrate(data.directory)
            if applied.isEmpty {
                print("database \(data.directory.databasePath) is up to date")
            } else {
                print("applied migrations to \(data.directory.databasePath): \(applied.joined(separator: ", "))")
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run SQLite's integrity check and foreign-key check; exits 1 if either finds a problem.",
            discussion: "Only reads, so it may run while a server holds the data directory.")

        @OptionGroup var data: DataOptions

        func run() async throws {
            _ = try data.prepareProcess(label: "agentbox.db")
            let report = try await Maintenance.check(data.directory)
            print("integrity: \(report.integrity.joined(separator: "; "))")
            if report.foreignKeyViolations.isEmpty {
                print("foreign keys: ok")
            } else {
                for violation in report.foreignKeyViolations { print("foreign key violation: \(violation)") }
            }
            if !report.isClean { throw ExitCode(1) }
        }
    }
}

import ArgumentParser
import Foundation
import JSONSchema
import Services

/// `agentbox import`: moving in from the hosted stack agentbox replaces.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Move in: import a deployment of the hosted stack that agentbox replaces.",
        subcommands: [Postgres.self])

    struct Postgres: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "postgres",
            abstract: "Import users, agents, catalog, toolboxes, instances, toolbelts, permissions and credentials from the hosted stack's PostgreSQL.",
            discussion: """
                Reads the seed's tables (users from public.users or auth.users) and the credentials' plain text \
                through the hosted vault's view vault.decrypted_secrets, in one read-only snapshot, and writes \
                everything in one transaction: all or nothing. Ids are kept. Each credential is sealed by agentbox's \
                vault at once; no secret is written in plain text or logged. A row that breaks agentbox's rules (a \
                value outside an enum, a dangling reference, a missing secret, ...) is refused with the reason, and so \
                are the rows that refer to it. A row whose id agentbox has already is left alone, so running the \
                import again imports nothing twice. Use --dry-run first to see what would happen.

                The password comes from PGPASSWORD or, with --password-stdin, from the first line of standard \
                input; never from the URL. Stop `agentbox serve` first: the import holds the data directory. \
                DigitalOcean toolboxes keep their droplets; their droplets run the hosted stack's Node.js agent, so \
                the report lists them with how to enroll agentbox's agent there.
                """)

        @Option(help: ArgumentHelp(
            "The hosted stack's database: postgres://USER@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require], or postgres://USER@/DATABASE?host=/socket/folder.",
            valueName: "url"))
        var url: String

        @Flag(help: "Read the database password from the first line of standard input (else PGPASSWORD, else none).")
        var passwordStdin = false

        @Flag(help: "Print what would be imported and every row that would be refused, with why; write nothing.")
        var dryRun = false

        @OptionGroup var data: DataOptions

        func run() async throws {
            let target = try PostgresTarget(url: url)
            let password = passwordStdin ? readLine(strippingNewline: true) : ProcessInfo.processInfo.environment["PGPASSWORD"]
            let logger = try data.prepareProcess(label: "agentbox.import")
            // The data directory first: a running server holds it, and then there is no point reading the source.
            let backend = try await Backend.open(data.directory, keys: data.masterKey, mode: .create, logger: logger)
            // PostgresNIO logs the server's messages, row data included, at debug and trace: it gets notices and up only.
            var postgresLogger = logger
            postgresLogger.logLevel = max(logger.logLevel, .notice)
            let rows = try await PostgresSource.read(target, password: password, logger: postgresLogger)
            let report = try await HostedStackImport(database: backend.database, vault: backend.vault).run(rows, dryRun: dryRun)
            print(Self.describe(report, source: target.description))
        }

        /// The report as people read it: counts per table, each refused row with its reason, the toolboxes to re-enroll.
        static func describe(_ report: ImportReport, source: String) -> String {
            var lines = [report.dryRun ? "dry run: nothing was written; importing from \(source) would give:" : "imported from \(source):"]
            let rows = HostedStackTable.allCases.map { table -> JSONValue in
                .object([
                    "table": .string(table.rawValue), "imported": .integer(Int64(report.imported[table] ?? 0)),
                    "present": .integer(Int64(report.alreadyPresent[table] ?? 0)),
                    "refused": .integer(Int64(report.refused.filter { $0.table == table }.count)),
                ])
            }
            lines.append(
                Output.table(
                    rows, [Column("TABLE", "table"), Column("IMPORTED", "imported"), Column("ALREADY-HERE", "present"), Column("REFUSED", "refused")]))
            if !report.refused.isEmpty {
                lines.append("")
                lines.append("refused (\(report.refused.count)); fix them in the source and run the import again:")
                for refusal in report.refused { lines.append("  \(refusal.table.rawValue) \(refusal.id): \(refusal.reason)") }
            }
            if !report.reenroll.isEmpty {
                lines.append("")
                lines.append("DigitalOcean toolboxes whose droplets run the hosted stack's Node.js agent (\(report.reenroll.count)); for each, with the server running:")
                lines.append("  agentbox toolbox reenroll ID > enroll.sh && ssh root@ADDRESS sh < enroll.sh")
                for toolbox in report.reenroll {
                    lines.append("  \(toolbox.toolboxID.uuidString.lowercased())  \(toolbox.name)  droplet \(toolbox.dropletID.map(String.init) ?? "-")  \(toolbox.address ?? "no address")")
                }
            }
            return lines.joined(separator: "\n")
        }
    }
}

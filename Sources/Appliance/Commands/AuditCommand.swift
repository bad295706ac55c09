import ArgumentParser
import Services

extension APIRoute {
    static let listAudit = APIRoute("GET", "/api/v1/audit")
}

/// `agentbox audit`: the audit log through the server, and offline checks of its hash chain.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read the audit log through the server, or check its hash chain offline.",
        subcommands: [List.self, Verify.self])

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List audit records, newest first (all for admins, your own otherwise).")
        static let routes: [APIRoute] = [.listAudit]

        @OptionGroup var page: PageOptions
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let columns = [
                Column("SEQ", "seq"), Column("AT", "at"), Column("ACTOR", "actor_kind"), Column("ACTOR ID", "actor_id"), Column("ACTION", "action"),
                Column("TARGET", "target_type"), Column("TARGET ID", "target_id"), Column("OUTCOME", "outcome"),
            ]
            try Output.page(try await api.send(.listAudit, query: page.query), json: client.json, columns: columns, noun: "audit records")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk the audit chain and report the first edited, inserted or deleted record; exits 1 if there is one.",
            discussion: "Only reads, so it may run while a server holds the data directory.")

        @OptionGroup var data: DataOptions

        func run() async throws {
            let backend = try await data.openBackend(.offlineRead, label: "agentbox.audit")
            let result = try await AuditLog(vault: backend.vault).verify(backend.database)
            if let (seq, reason) = result.firstBreak {
                print("audit log BROKEN at record \(seq): \(reason) (\(result.checked) record(s) before it are intact)")
                throw ExitCode(1)
            }
            print("audit log intact: \(result.checked) record(s) checked")
        }
    }
}

import ArgumentParser
import JSONSchema

extension APIRoute {
    static let listTokens = APIRoute("GET", "/api/v1/tokens")
    static let issueToken = APIRoute("POST", "/api/v1/tokens")
    static let revokeToken = APIRoute("DELETE", "/api/v1/tokens/{id}")
    static let rotateToken = APIRoute("POST", "/api/v1/tokens/{id}/rotate")
}

/// `agentbox token`: the caller's API tokens and its agents'.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "List, issue, revoke and rotate API tokens (yours and your agents').",
        subcommands: [List.self, Create.self, Revoke.self, Rotate.self])

    /// The body of the routes that issue a token.
    static func issueBody(name: String?, expiresIn: Int?) -> JSONValue {
        var body: [String: JSONValue] = [:]
        if let name { body["name"] = .string(name) }
        if let expiresIn { body["expires_in_seconds"] = .integer(Int64(expiresIn)) }
        return .object(body)
    }

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never the tokens themselves, only their prefixes).")
        static let routes: [APIRoute] = [.listTokens]

        @OptionGroup var page: PageOptions
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let columns = [
                Column("ID", "id"), Column("KIND", "kind"), Column("NAME", "name"), Column("PREFIX", "prefix"), Column("USER", "user_id"),
                Column("AGENT", "agent_id"), Column("LAST USED", "last_used_at"), Column("EXPIRES", "expires_at"), Column("REVOKED", "revoked_at"),
            ]
            try Output.page(try await api.send(.listTokens, query: page.query), json: client.json, columns: columns, noun: "tokens")
        }
    }

    struct Create: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a token for yourself and print it once.")
        static let routes: [APIRoute] = [.issueToken]

        @Option(help: "A name to tell the token apart.") var name: String?
        @Option(help: ArgumentHelp("Seconds until the token expires (default: never).", valueName: "seconds")) var expiresIn: Int?
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.issueToken, body: TokenCommand.issueBody(name: name, expiresIn: expiresIn))
            try Output.issuedToken(try reply.json, json: client.json, reply: reply)
        }
    }

    struct Revoke: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token now.")
        static let routes: [APIRoute] = [.revokeToken]

        @Argument(help: "The token's id (from `agentbox token list`).") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            Output.message(try await api.send(.revokeToken, ["id": id]), json: client.json, "revoked token \(id)")
        }
    }

    struct Rotate: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a successor of a token and print it once; the old one keeps working for the overlap.")
        static let routes: [APIRoute] = [.rotateToken]

        @Argument(help: "The token's id.") var id: String
        @Option(help: ArgumentHelp("Seconds the old token stays valid (0-2592000; default 3600).", valueName: "seconds")) var overlap: Int?
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let body: JSONValue = .object(overlap.map { ["overlap_seconds": .integer(Int64($0))] } ?? [:])
            let reply = try await api.send(.rotateToken, ["id": id], body: body)
            try Output.issuedToken(try reply.json, json: client.json, reply: reply)
        }
    }
}

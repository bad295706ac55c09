import ArgumentParser
import JSONSchema

extension APIRoute {
    static let listAgents = APIRoute("GET", "/api/v1/agents")
    static let getAgent = APIRoute("GET", "/api/v1/agents/{id}")
    static let createAgent = APIRoute("POST", "/api/v1/agents")
    static let updateAgent = APIRoute("PATCH", "/api/v1/agents/{id}")
    static let deleteAgent = APIRoute("DELETE", "/api/v1/agents/{id}")
    static let issueAgentToken = APIRoute("POST", "/api/v1/agents/{id}/tokens")
}

/// `agentbox agent`: the caller's AI agents and their tokens.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "List, show, create, change and delete agents, and issue their tokens.",
        subcommands: [List.self, Get.self, Create.self, Update.self, Delete.self, Token.self])

    static let columns = [
        Column("ID", "id"), Column("NAME", "name"), Column("OWNER", "user_id"), Column("DESCRIPTION", "description"), Column("CREATED", "created_at"),
    ]

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List your agents (all for admins).")
        static let routes: [APIRoute] = [.listAgents]

        @Option(help: "Only the agents of this user id (admins).") var user: String?
        @Option(help: "Only agents with this name.") var name: String?
        @OptionGroup var page: PageOptions
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.listAgents, query: [("user_id", user), ("name", name)] + page.query)
            try Output.page(reply, json: client.json, columns: AgentCommand.columns, noun: "agents")
        }
    }

    struct Get: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Show an agent.")
        static let routes: [APIRoute] = [.getAgent]

        @Argument(help: "The agent's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try Output.record(try await api.send(.getAgent, ["id": id]), json: client.json)
        }
    }

    struct Create: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Create an agent that you own.")
        static let routes: [APIRoute] = [.createAgent]

        @Argument(help: "The agent's name (unique among yours).") var name: String
        @Option(help: "What the agent is for.") var description: String?
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            var body: [String: JSONValue] = ["name": .string(name)]
            if let description { body["description"] = .string(description) }
            try Output.record(try await api.send(.createAgent, body: .object(body)), json: client.json)
        }
    }

    struct Update: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Rename or re-describe an agent.")
        static let routes: [APIRoute] = [.updateAgent]

        @Argument(help: "The agent's id.") var id: String
        @Option(help: "The new name.") var name: String?
        @Option(help: "The new description.") var description: String?
        @OptionGroup var client: ClientOptions

        func validate() throws {
            if name == nil, description == nil { throw ValidationError("give --name, --description or both") }
        }

        func run(_ api: APIClient) async throws {
            var body: [String: JSONValue] = [:]
            if let name { body["name"] = .string(name) }
            if let description { body["description"] = .string(description) }
            try Output.record(try await api.send(.updateAgent, ["id": id], body: .object(body)), json: client.json)
        }
    }

    struct Delete: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an agent with its tokens, toolbox access and toolbelt.")
        static let routes: [APIRoute] = [.deleteAgent]

        @Argument(help: "The agent's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            Output.message(try await api.send(.deleteAgent, ["id": id]), json: client.json, "deleted agent \(id)")
        }
    }

    struct Token: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a token for an agent and print it once.")
        static let routes: [APIRoute] = [.issueAgentToken]

        @Argument(help: "The agent's id.") var id: String
        @Option(help: "A name to tell the token apart.") var name: String?
        @Option(help: ArgumentHelp("Seconds until the token expires (default: never).", valueName: "seconds")) var expiresIn: Int?
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.issueAgentToken, ["id": id], body: TokenCommand.issueBody(name: name, expiresIn: expiresIn))
            try Output.issuedToken(try reply.json, json: client.json, reply: reply)
        }
    }
}

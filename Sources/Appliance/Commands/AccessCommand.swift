import ArgumentParser
import JSONSchema

extension APIRoute {
    static let grantToolboxAccess = APIRoute("POST", "/api/v1/agents/{id}/toolboxes")
    static let listToolboxAccess = APIRoute("GET", "/api/v1/agents/{id}/toolboxes")
    static let revokeToolboxAccess = APIRoute("DELETE", "/api/v1/agents/{id}/toolboxes/{toolbox_id}")
}

/// `agentbox access`: which toolboxes an agent may use.
struct AccessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access",
        abstract: "Grant, list and revoke an agent's access to toolboxes.",
        subcommands: [Grant.self, List.self, Revoke.self])

    struct Grant: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Let an agent use a toolbox.")
        static let routes: [APIRoute] = [.grantToolboxAccess]

        @Argument(help: "The agent's id.") var agent: String
        @Argument(help: "The toolbox's id.") var toolbox: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.grantToolboxAccess, ["id": agent], body: .object(["toolbox_id": .string(toolbox)]))
            try Output.record(reply, json: client.json, first: ["id", "agent_id", "toolbox_id", "granted_at"])
        }
    }

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List the toolboxes an agent may use.")
        static let routes: [APIRoute] = [.listToolboxAccess]

        @Argument(help: "The agent's id.") var agent: String
        @OptionGroup var page: PageOptions
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let columns = [Column("ID", "id"), Column("TOOLBOX", "toolbox_id"), Column("GRANTED", "granted_at")]
            let reply = try await api.send(.listToolboxAccess, ["id": agent], query: page.query)
            try Output.page(reply, json: client.json, columns: columns, noun: "toolboxes this agent may use")
        }
    }

    struct Revoke: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Stop an agent from using a toolbox.")
        static let routes: [APIRoute] = [.revokeToolboxAccess]

        @Argument(help: "The agent's id.") var agent: String
        @Argument(help: "The toolbox's id.") var toolbox: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.revokeToolboxAccess, ["id": agent, "toolbox_id": toolbox])
            Output.message(reply, json: client.json, "agent \(agent) may no longer use toolbox \(toolbox)")
        }
    }
}

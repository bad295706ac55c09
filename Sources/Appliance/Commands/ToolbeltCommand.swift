import ArgumentParser
import JSONSchema

extension APIRoute {
    static let addToolbeltItem = APIRoute("POST", "/api/v1/agents/{id}/toolbelt")
    static let listToolbelt = APIRoute("GET", "/api/v1/agents/{id}/toolbelt")
    static let getToolbeltItem = APIRoute("GET", "/api/v1/toolbelt/{id}")
    static let updateToolbeltItem = APIRoute("PATCH", "/api/v1/toolbelt/{id}")
    static let deleteToolbeltItem = APIRoute("DELETE", "/api/v1/toolbelt/{id}")
    static let executeTool = APIRoute("POST", "/api/v1/toolbelt/{id}/execute")
}

/// `agentbox toolbelt`: the tool instances an agent may call.
struct ToolbeltCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "toolbelt",
        abstract: "Add tool instances to an agent's toolbelt, list, show, enable, disable and remove them; call them as the agent.",
        subcommands: [Add.self, List.self, Get.self, Enable.self, Disable.self, Remove.self, Execute.self])

    static let fieldOrder = ["id", "agent_id", "instance_id", "is_active"]

    struct Add: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a tool instance in an agent's toolbelt.",
            discussion: "The agent needs access to the instance's toolbox first (`agentbox access grant`).")
        static let routes: [APIRoute] = [.addToolbeltItem]

        @Argument(help: "The agent's id.") var agent: String
        @Argument(help: "The instance's id.") var instance: String
        @Flag(help: "Add it switched off.") var inactive = false
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let body: JSONValue = .object(["instance_id": .string(instance), "is_active": .bool(!inactive)])
            try Output.record(try await api.send(.addToolbeltItem, ["id": agent], body: body), json: client.json, first: ToolbeltCommand.fieldOrder)
        }
    }

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List an agent's toolbelt.")
        static let routes: [APIRoute] = [.listToolbelt]

        @Argument(help: "The agent's id.") var agent: String
        @Option(help: ArgumentHelp("Only active (true) or inactive (false) items.", valueName: "true|false")) var active: Bool?
        @Option(help: "Only the item of this instance id.") var instance: String?
        @OptionGroup var page: PageOptions
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let columns = [Column("ID", "id"), Column("INSTANCE", "instance_id"), Column("ACTIVE", "is_active"), Column("UPDATED", "updated_at")]
            let query = [("is_active", active.map(String.init)), ("instance_id", instance)] + page.query
            let reply = try await api.send(.listToolbelt, ["id": agent], query: query)
            try Output.page(reply, json: client.json, columns: columns, noun: "toolbelt items")
        }
    }

    struct Get: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Show a toolbelt item.")
        static let routes: [APIRoute] = [.getToolbeltItem]

        @Argument(help: "The toolbelt item's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try Output.record(try await api.send(.getToolbeltItem, ["id": id]), json: client.json, first: ToolbeltCommand.fieldOrder)
        }
    }

    struct Enable: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Let the agent call a toolbelt item again.")
        static let routes: [APIRoute] = [.updateToolbeltItem]

        @Argument(help: "The toolbelt item's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try await ToolbeltCommand.setActive(true, id, api, json: client.json)
        }
    }

    struct Disable: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the agent from calling a toolbelt item, keeping its settings.")
        static let routes: [APIRoute] = [.updateToolbeltItem]

        @Argument(help: "The toolbelt item's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try await ToolbeltCommand.setActive(false, id, api, json: client.json)
        }
    }

    struct Remove: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an item from the toolbelt, with its permissions and credentials.")
        static let routes: [APIRoute] = [.deleteToolbeltItem]

        @Argument(help: "The toolbelt item's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            Output.message(try await api.send(.deleteToolbeltItem, ["id": id]), json: client.json, "removed toolbelt item \(id)")
        }
    }

    struct Execute: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Call a capability of a toolbelt item, as the agent (with the agent's token), and print the tool's answer.",
            discussion: """
                The tool gets the agent's stored credentials for this one call. Pass the agent token with --token or \
                AGENTBOX_TOKEN. Example: agentbox toolbelt execute ITEM gmail_send --input '{"to": "ada@example.com"}'
                """)
        static let routes: [APIRoute] = [.executeTool]

        @Argument(help: "The toolbelt item's id.") var id: String
        @Argument(help: "The capability to call, e.g. gmail_send.") var capability: String
        @Option(help: ArgumentHelp("The input as a JSON object (default {}).", valueName: "json")) var input: String?
        @Option(help: ArgumentHelp("Read the input from a file, or - for standard input.", valueName: "path")) var inputFile: String?
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let value: JSONValue
            switch (input, inputFile) {
            case (let text?, nil):
                do {
                    value = try JSONValue(parsing: text)
                } catch {
                    throw CLIError("--input is not valid JSON: \(error.message)")
                }
            case (nil, let path?): value = .object(try InputFile.object(path))
            case (nil, nil): value = .object([:])
            default: throw CLIError("pass --input or --input-file, not both")
            }
            let body: JSONValue = .object(["capability": .string(capability), "input": value])
            Output.raw(try await api.send(.executeTool, ["id": id], body: body))
        }
    }

    static func setActive(_ active: Bool, _ id: String, _ api: APIClient, json: Bool) async throws {
        let reply = try await api.send(.updateToolbeltItem, ["id": id], body: .object(["is_active": .bool(active)]))
        Output.message(reply, json: json, "toolbelt item \(id) is \(active ? "enabled" : "disabled")")
    }
}

import ArgumentParser
import JSONSchema

extension APIRoute {
    static let setPermission = APIRoute("PUT", "/api/v1/toolbelt/{id}/permissions/{capability}")
    static let listPermissions = APIRoute("GET", "/api/v1/toolbelt/{id}/permissions")
    static let deletePermission = APIRoute("DELETE", "/api/v1/toolbelt/{id}/permissions/{capability}")
}

/// `agentbox permission`: per-capability allow and deny of a toolbelt item.
struct PermissionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "permission",
        abstract: "Allow or deny each capability of a toolbelt item; list and delete those rules.",
        subcommands: [SetRule.self, List.self, Delete.self])

    struct SetRule: ClientCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Allow or deny a capability (one of the tool's capabilities).")
        static let routes: [APIRoute] = [.setPermission]

        @Argument(help: "The toolbelt item's id.") var item: String
        @Argument(help: "The capability's name.") var capability: String
        @Flag(help: "Allow it.") var allow = false
        @Flag(help: "Deny it.") var deny = false
        @OptionGroup var client: ClientOptions

        func validate() throws {
            if allow == deny { throw ValidationError("give exactly one of --allow and --deny") }
        }

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.setPermission, ["id": item, "capability": capability], body: .object(["is_allowed": .bool(allow)]))
            Output.message(reply, json: client.json, "\(allow ? "allowed" : "denied") \(capability) for toolbelt item \(item)")
        }
    }

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List the capability rules of a toolbelt item.")
        static let routes: [APIRoute] = [.listPermissions]

        @Argument(help: "The toolbelt item's id.") var item: String
        @Option(help: ArgumentHelp("Only allowed (true) or denied (false) capabilities.", valueName: "true|false")) var allowed: Bool?
        @OptionGroup var page: PageOptions
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let columns = [Column("CAPABILITY", "capability"), Column("ALLOWED", "is_allowed"), Column("UPDATED", "updated_at"), Column("ID", "id")]
            let reply = try await api.send(.listPermissions, ["id": item], query: [("is_allowed", allowed.map(String.init))] + page.query)
            try Output.page(reply, json: client.json, columns: columns, noun: "capability rules")
        }
    }

    struct Delete: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the rule for a capability.")
        static let routes: [APIRoute] = [.deletePermission]

        @Argument(help: "The toolbelt item's id.") var item: String
        @Argument(help: "The capability's name.") var capability: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.deletePermission, ["id": item, "capability": capability])
            Output.message(reply, json: client.json, "deleted the rule for \(capability) of toolbelt item \(item)")
        }
    }
}

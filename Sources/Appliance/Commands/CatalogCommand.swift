import ArgumentParser
import JSONSchema

extension APIRoute {
    static let listCatalog = APIRoute("GET", "/api/v1/catalog")
    static let getCatalogEntry = APIRoute("GET", "/api/v1/catalog/{id}")
    static let createCatalogEntry = APIRoute("POST", "/api/v1/catalog")
    static let updateCatalogEntry = APIRoute("PATCH", "/api/v1/catalog/{id}")
    static let deleteCatalogEntry = APIRoute("DELETE", "/api/v1/catalog/{id}")
}

/// `agentbox catalog`: the tool catalog (everyone reads enabled tools; admins write).
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "List and show catalog tools; add, change and delete them (admins).",
        subcommands: [List.self, Get.self, Add.self, Update.self, Delete.self])

    static let fieldOrder = ["id", "name", "version", "docker_image_url", "container_port", "protocol", "is_enabled", "description"]

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List catalog tools, by name (disabled ones for admins only).")
        static let routes: [APIRoute] = [.listCatalog]

        @Option(help: ArgumentHelp("Only enabled (true) or disabled (false) tools (admins).", valueName: "true|false")) var enabled: Bool?
        @Option(help: "Only the tool with this name (any case).") var name: String?
        @OptionGroup var page: PageOptions
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let columns = [
                Column("ID", "id"), Column("NAME", "name"), Column("VERSION", "version"), Column("IMAGE", "docker_image_url"),
                Column("PORT", "container_port"), Column("ENABLED", "is_enabled"),
            ]
            let reply = try await api.send(.listCatalog, query: [("enabled", enabled.map(String.init)), ("name", name)] + page.query)
            try Output.page(reply, json: client.json, columns: columns, noun: "catalog tools")
        }
    }

    struct Get: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Show a catalog tool with its schemas.")
        static let routes: [APIRoute] = [.getCatalogEntry]

        @Argument(help: "The tool's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try Output.record(try await api.send(.getCatalogEntry, ["id": id]), json: client.json, first: CatalogCommand.fieldOrder)
        }
    }

    struct Add: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a tool to the catalog from a JSON file.",
            discussion: """
                The file holds the body of POST /api/v1/catalog: name, docker_image_url, version, container_port, \
                required_capabilities_schema, and optionally description, protocol, memory_limit_mb, cpu_limit, \
                execute_timeout_ms, is_enabled, default_config_json_schema and required_secrets_schema.
                """)
        static let routes: [APIRoute] = [.createCatalogEntry]

        @Option(help: ArgumentHelp("The tool's JSON (- for standard input).", valueName: "file")) var file: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let body = try InputFile.object(file)
            try Output.record(try await api.send(.createCatalogEntry, body: .object(body)), json: client.json, first: CatalogCommand.fieldOrder)
        }
    }

    struct Update: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a catalog tool: the fields in a JSON file, or just enable or disable it.",
            discussion: "In the file, null clears description, memory_limit_mb and cpu_limit; absent fields stay as they are.")
        static let routes: [APIRoute] = [.updateCatalogEntry]

        @Argument(help: "The tool's id.") var id: String
        @Option(help: ArgumentHelp("The changed fields as JSON (- for standard input).", valueName: "file")) var file: String?
        @Flag(help: "Make the tool available to users.") var enable = false
        @Flag(help: "Hide the tool from users (instances keep running).") var disable = false
        @OptionGroup var client: ClientOptions

        func validate() throws {
            if enable && disable { throw ValidationError("give --enable or --disable, not both") }
            if file == nil && !enable && !disable { throw ValidationError("give --file, --enable or --disable") }
        }

        func run(_ api: APIClient) async throws {
            var body = try file.map { try InputFile.object($0) } ?? [:]
            if enable || disable { body["is_enabled"] = .bool(enable) }
            let reply = try await api.send(.updateCatalogEntry, ["id": id], body: .object(body))
            try Output.record(reply, json: client.json, first: CatalogCommand.fieldOrder)
        }
    }

    struct Delete: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a catalog tool that no instance uses.")
        static let routes: [APIRoute] = [.deleteCatalogEntry]

        @Argument(help: "The tool's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            Output.message(try await api.send(.deleteCatalogEntry, ["id": id]), json: client.json, "deleted catalog tool \(id)")
        }
    }
}

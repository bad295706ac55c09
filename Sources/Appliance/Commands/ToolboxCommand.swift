import ArgumentParser
import JSONSchema

extension APIRoute {
    static let listToolboxes = APIRoute("GET", "/api/v1/toolboxes")
    static let getToolbox = APIRoute("GET", "/api/v1/toolboxes/{id}")
    static let createToolbox = APIRoute("POST", "/api/v1/toolboxes")
    static let updateToolbox = APIRoute("PATCH", "/api/v1/toolboxes/{id}")
    static let deleteToolbox = APIRoute("DELETE", "/api/v1/toolboxes/{id}")
    static let resizeToolbox = APIRoute("POST", "/api/v1/toolboxes/{id}/resize")
    static let reenrollToolbox = APIRoute("POST", "/api/v1/toolboxes/{id}/reenroll")
}

/// `agentbox toolbox`: the hosts that run tool containers.
struct ToolboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "toolbox",
        abstract: "List, show, create, rename and delete toolboxes (hosts that run tools).",
        subcommands: [List.self, Get.self, Create.self, Rename.self, Resize.self, Reenroll.self, Delete.self])

    static let fieldOrder = ["id", "name", "provider", "status", "status_detail", "current_operation", "reachability", "region", "size_slug", "droplet_id", "public_ip_address", "user_id"]

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List your toolboxes (all for admins).")
        static let routes: [APIRoute] = [.listToolboxes]

        @Option(help: "Only the toolboxes of this user id (admins).") var user: String?
        @Option(help: "Only toolboxes in this status (e.g. active, error, archived).") var status: String?
        @Option(help: "Only toolboxes of this provider (local or digitalocean).") var provider: String?
        @Option(help: "Only the toolbox with this name.") var name: String?
        @OptionGroup var page: PageOptions
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let columns = [
                Column("ID", "id"), Column("NAME", "name"), Column("PROVIDER", "provider"), Column("STATUS", "status"),
                Column("REACHABILITY", "reachability"), Column("AGENT", "agent_version"), Column("DROPLET", "droplet_id"),
                Column("ADDRESS", "public_ip_address"),
                Column("OWNER", "user_id"), Column("CREATED", "created_at"),
            ]
            let query = [("user_id", user), ("status", status), ("provider", provider), ("name", name)] + page.query
            try Output.page(try await api.send(.listToolboxes, query: query), json: client.json, columns: columns, noun: "toolboxes")
        }
    }

    struct Get: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Show a toolbox.")
        static let routes: [APIRoute] = [.getToolbox]

        @Argument(help: "The toolbox's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try Output.record(try await api.send(.getToolbox, ["id": id]), json: client.json, first: ToolboxCommand.fieldOrder)
        }
    }

    struct Create: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a toolbox that you own.",
            discussion: """
                A digitalocean toolbox is a droplet of --size in --region (see the admin's agentbox digitalocean status); \
                the command follows its provisioning with a line per step unless --no-wait. \
                Example: agentbox toolbox create big --provider digitalocean --region nyc3 --size s-2vcpu-4gb
                """)
        static let routes: [APIRoute] = [.createToolbox, .getToolbox]

        @Argument(help: "The toolbox's name.") var name: String
        @Option(help: "Where it runs: local (the appliance's Docker engine; the default) or digitalocean.") var provider: String?
        @Option(help: "digitalocean: the region, e.g. nyc3.") var region: String?
        @Option(help: "digitalocean: the droplet size, e.g. s-1vcpu-1gb.") var size: String?
        @Flag(help: "Do not follow a digitalocean toolbox's provisioning.") var noWait = false
        @Option(help: "Stop following after this many seconds (default 900); provisioning goes on.") var timeout: Int = 900
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            var body: [String: JSONValue] = ["name": .string(name)]
            if let provider { body["provider"] = .string(provider) }
            if let region { body["region"] = .string(region) }
            if let size { body["size"] = .string(size) }
            var reply = try await api.send(.createToolbox, body: .object(body))
            guard let id = try reply.json.string("id"), try reply.json.string("status") == "pending_provision", !noWait, !client.json else {
                return try Output.record(reply, json: client.json, first: ToolboxCommand.fieldOrder)
            }
            print("toolbox \(id) created; provisioning (--no-wait to skip this)")
            var last = ""
            let deadline = ContinuousClock.now + .seconds(timeout)
            while ContinuousClock.now < deadline {
                reply = try await api.send(.getToolbox, ["id": id])
                let status = try reply.json.string("status") ?? "?"
                let line = "\(status): \(try reply.json.string("status_detail") ?? "")"
                if line != last { print(line) }
                last = line
                if status == "error" { throw CLIError("toolbox \(id) failed to provision") }
                if status != "pending_provision" && status != "provisioning" { return try Output.record(reply, json: false, first: ToolboxCommand.fieldOrder) }
                try await Task.sleep(for: .seconds(1))
            }
            print("still provisioning after \(timeout) s; follow it with: agentbox toolbox get \(id)")
        }
    }

    struct Resize: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resize a DigitalOcean toolbox's droplet: it is powered off, resized and powered on again.",
            discussion: "Follow it with agentbox toolbox get ID (current_operation resizing, status_detail the step).")
        static let routes: [APIRoute] = [.resizeToolbox]

        @Argument(help: "The toolbox's id.") var id: String
        @Argument(help: "The new droplet size, e.g. s-2vcpu-4gb.") var size: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.resizeToolbox, ["id": id], body: .object(["size": .string(size)]))
            try Output.record(reply, json: client.json, first: ToolboxCommand.fieldOrder)
        }
    }

    struct Reenroll: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a script that enrolls agentbox's agent on an active DigitalOcean toolbox's running droplet.",
            discussion: """
                For droplets imported from the hosted stack (agentbox import postgres), whose Node.js agent does not speak \
                agentbox's protocol, or whose agent must be set up again. Run the script once as root on the droplet: \
                agentbox toolbox reenroll ID > enroll.sh && ssh root@ADDRESS sh < enroll.sh. It carries a single-use \
                enrollment token that expires with the server's --enrollment-timeout; keep it private until it is used. \
                Stop the old agent and remove its containers first: agentbox's agent runs the instances on the same ports.
                """)
        static let routes: [APIRoute] = [.reenrollToolbox]

        @Argument(help: "The toolbox's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.reenrollToolbox, ["id": id])
            if client.json { return Output.raw(reply) }
            guard let script = try reply.json.string("script") else { throw CLIError("the server's answer holds no script") }
            print(script, terminator: "")
        }
    }

    struct Rename: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a toolbox.")
        static let routes: [APIRoute] = [.updateToolbox]

        @Argument(help: "The toolbox's id.") var id: String
        @Argument(help: "The new name.") var name: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.updateToolbox, ["id": id], body: .object(["name": .string(name)]))
            try Output.record(reply, json: client.json, first: ToolboxCommand.fieldOrder)
        }
    }

    struct Delete: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deprovision a toolbox; refused while it has instances unless --cascade.")
        static let routes: [APIRoute] = [.deleteToolbox]

        @Argument(help: "The toolbox's id.") var id: String
        @Flag(help: "Delete its instances too.") var cascade = false
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.deleteToolbox, ["id": id], query: [("cascade", cascade ? "true" : nil)])
            if client.json { return Output.raw(reply) }
            print("toolbox \(id) is now \(try reply.json.string("status") ?? "being deprovisioned")")
        }
    }
}

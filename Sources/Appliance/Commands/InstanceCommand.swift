import ArgumentParser
import Foundation
import JSONSchema

extension APIRoute {
    static let listInstances = APIRoute("GET", "/api/v1/toolboxes/{id}/instances")
    static let deployInstance = APIRoute("POST", "/api/v1/toolboxes/{id}/instances")
    static let getInstance = APIRoute("GET", "/api/v1/instances/{id}")
    static let updateInstance = APIRoute("PATCH", "/api/v1/instances/{id}")
    static let deleteInstance = APIRoute("DELETE", "/api/v1/instances/{id}")
    static let startInstance = APIRoute("POST", "/api/v1/instances/{id}/start")
    static let stopInstance = APIRoute("POST", "/api/v1/instances/{id}/stop")
    static let restartInstance = APIRoute("POST", "/api/v1/instances/{id}/restart")
    static let upgradeInstance = APIRoute("POST", "/api/v1/instances/{id}/upgrade")
    static let listInstanceEvents = APIRoute("GET", "/api/v1/instances/{id}/events")
}

/// `agentbox instance`: catalog tools deployed to toolboxes.
struct InstanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instance",
        abstract: "Deploy catalog tools to a toolbox, and list, show, change, start, stop, restart, upgrade and delete them.",
        subcommands: [List.self, Get.self, Deploy.self, Update.self, Start.self, Stop.self, Restart.self, Upgrade.self, Events.self, Delete.self])

    static let fieldOrder = ["id", "name", "status", "status_detail", "toolbox_id", "tool_id", "version"]

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List the instances of a toolbox.")
        static let routes: [APIRoute] = [.listInstances]

        @Option(help: "The toolbox's id.") var toolbox: String
        @Option(help: "Only instances in this status (e.g. running, stopped, error).") var status: String?
        @Option(help: "Only instances of this catalog tool id.") var tool: String?
        @Option(help: "Only the instance with this name.") var name: String?
        @OptionGroup var page: PageOptions
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let columns = [
                Column("ID", "id"), Column("NAME", "name"), Column("STATUS", "status"), Column("TOOL", "tool_id"), Column("VERSION", "version"),
                Column("PORTS", "port_mapping"), Column("UPDATED", "updated_at"),
            ]
            let query = [("status", status), ("tool_id", tool), ("name", name)] + page.query
            try Output.page(try await api.send(.listInstances, ["id": toolbox], query: query), json: client.json, columns: columns, noun: "instances")
        }
    }

    struct Get: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Show an instance.")
        static let routes: [APIRoute] = [.getInstance]

        @Argument(help: "The instance's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try Output.record(try await api.send(.getInstance, ["id": id]), json: client.json, first: InstanceCommand.fieldOrder)
        }
    }

    struct Deploy: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deploy a catalog tool to a toolbox, and follow the deployment (image pull progress included) until it runs.",
            discussion: """
                The version is the catalog's at deploy time; config overrides are checked against the tool's config schema. \
                Exits 0 once the instance runs, 1 if it ends in error or --timeout passes (it keeps deploying).
                """)
        static let routes: [APIRoute] = [.deployInstance, .getInstance, .listInstanceEvents]

        @Option(help: "The toolbox's id.") var toolbox: String
        @Option(help: "The catalog tool's id.") var tool: String
        @Option(help: "The instance's name on the toolbox.") var name: String
        @Option(help: ArgumentHelp("Config overrides as a JSON object (- for standard input).", valueName: "file")) var configFile: String?
        @Flag(help: "Return once the deployment is recorded, without following it.") var noWait = false
        @Option(help: "Seconds to follow the deployment before giving up waiting.") var timeout: Double = 300
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            var body: [String: JSONValue] = ["tool_id": .string(tool), "name": .string(name)]
            if let configFile { body["config"] = .object(try InputFile.object(configFile)) }
            let reply = try await api.send(.deployInstance, ["id": toolbox], body: .object(body))
            guard !noWait, !client.json, let id = try reply.json.string("id") else {
                return try Output.record(reply, json: client.json, first: InstanceCommand.fieldOrder)
            }
            print("deploying instance \(id) (\(name))")
            try await InstanceCommand.follow(id, api, timeout: timeout) { $0.string("status") != "pending_deploy" && $0.string("status") != "deploying" }
        }
    }

    struct Upgrade: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move an instance to its catalog tool's current version, and follow the upgrade.",
            discussion: """
                A running instance keeps its port; if the new version does not run and answer GET /health, the toolbox \
                returns it to the old version and says why. A stopped instance runs the new version at its next start.
                """)
        static let routes: [APIRoute] = [.upgradeInstance, .getInstance, .listInstanceEvents]

        @Argument(help: "The instance's id.") var id: String
        @Flag(help: "Return once the upgrade is recorded, without following it.") var noWait = false
        @Option(help: "Seconds to follow the upgrade before giving up waiting.") var timeout: Double = 300
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.upgradeInstance, ["id": id])
            guard !noWait, !client.json, try reply.json.field("previous_version") != nil else {
                return try Output.record(reply, json: client.json, first: InstanceCommand.fieldOrder)
            }
            print("upgrading instance \(id) to \(try reply.json.string("version") ?? "?")")
            try await InstanceCommand.follow(id, api, timeout: timeout) { $0.field("previous_version") == nil }
        }
    }

    struct Events: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what the toolbox did to an instance's container: pulls, starts, crashes, restarts, upgrades.")
        static let routes: [APIRoute] = [.listInstanceEvents]

        @Argument(help: "The instance's id.") var id: String
        @Option(help: "How many of the newest events to show (1-200).") var limit: Int = 50
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.listInstanceEvents, ["id": id], query: [("limit", String(limit))])
            if client.json { return Output.raw(reply) }
            guard case .array(let events)? = try reply.json.field("items"), !events.isEmpty else { return print("no events yet") }
            events.forEach { print(InstanceCommand.line(of: $0)) }
        }
    }

    struct Update: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Rename an instance or replace its config overrides.")
        static let routes: [APIRoute] = [.updateInstance]

        @Argument(help: "The instance's id.") var id: String
        @Option(help: "The new name.") var name: String?
        @Option(help: ArgumentHelp("New config overrides as a JSON object (- for standard input).", valueName: "file")) var configFile: String?
        @Flag(help: "Remove the config overrides.") var clearConfig = false
        @OptionGroup var client: ClientOptions

        func validate() throws {
            if configFile != nil && clearConfig { throw ValidationError("give --config-file or --clear-config, not both") }
            if name == nil && configFile == nil && !clearConfig { throw ValidationError("give --name, --config-file or --clear-config") }
        }

        func run(_ api: APIClient) async throws {
            var body: [String: JSONValue] = [:]
            if let name { body["name"] = .string(name) }
            if let configFile { body["config"] = .object(try InputFile.object(configFile)) }
            if clearConfig { body["config"] = .null }
            let reply = try await api.send(.updateInstance, ["id": id], body: .object(body))
            try Output.record(reply, json: client.json, first: InstanceCommand.fieldOrder)
        }
    }

    struct Start: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Ask for a stopped instance to run.")
        static let routes: [APIRoute] = [.startInstance]

        @Argument(help: "The instance's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try await InstanceCommand.request(.startInstance, id, api, json: client.json)
        }
    }

    struct Stop: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Ask for a running instance to stop.")
        static let routes: [APIRoute] = [.stopInstance]

        @Argument(help: "The instance's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try await InstanceCommand.request(.stopInstance, id, api, json: client.json)
        }
    }

    struct Restart: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Ask for an instance to restart.")
        static let routes: [APIRoute] = [.restartInstance]

        @Argument(help: "The instance's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try await InstanceCommand.request(.restartInstance, id, api, json: client.json)
        }
    }

    struct Delete: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an instance (its container is removed by the toolbox).")
        static let routes: [APIRoute] = [.deleteInstance]

        @Argument(help: "The instance's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.deleteInstance, ["id": id])
            if client.json { return Output.raw(reply) }
            if reply.status == 204 {
                print("deleted instance \(id)")
            } else {
                print("instance \(id) is now \(try reply.json.string("status") ?? "being deleted"); the toolbox removes its container")
            }
        }
    }

    /// Prints an instance's new events until `done` holds for the instance, then its status; fails on `error` or time-out.
    static func follow(_ id: String, _ api: APIClient, timeout: Double, done: (JSONValue) -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        var after: Int64 = 0
        while true {
            let events = try await api.send(.listInstanceEvents, ["id": id], query: [("after", String(after)), ("limit", "200")]).json
            if case .array(let items)? = events.field("items") {
                for event in items {
                    print(line(of: event))
                    if case .integer(let number)? = event.field("id") { after = max(after, number) }
                }
            }
            let instance = try await api.send(.getInstance, ["id": id]).json
            let status = instance.string("status") ?? "?"
            if status == "error" { throw CLIError("instance \(id) is in error: \(instance.string("status_detail") ?? "no reason given")") }
            if done(instance) {
                var summary = "instance \(id) is \(status) (version \(instance.string("version") ?? "?"))"
                if case .integer(let port)? = instance.field(path: "port_mapping.host_port"), status == "running" { summary += " on 127.0.0.1:\(port)" }
                if let detail = instance.string("status_detail") { summary += ": \(detail)" }
                return print(summary)
            }
            guard ContinuousClock.now < deadline else {
                throw CLIError("instance \(id) is still \(status) after \(Int(timeout)) s; follow it with: agentbox instance events \(id)")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// `12:03:04  pull     downloading 3.2 of 10.5 MB (1 of 3 layers done)`.
    static func line(of event: JSONValue) -> String {
        let time = (event.string("at") ?? "").dropFirst(11).prefix(8)
        let kind = (event.string("kind") ?? "").padding(toLength: 8, withPad: " ", startingAt: 0)
        return "\(time)  \(kind) \(event.string("message") ?? "")"
    }

    /// Sends a start, stop or restart and shows the instance's new status.
    static func request(_ route: APIRoute, _ id: String, _ api: APIClient, json: Bool) async throws {
        let reply = try await api.send(route, ["id": id])
        if json { return Output.raw(reply) }
        print("instance \(id) is now \(try reply.json.string("status") ?? "?")")
    }
}

import ArgumentParser
import JSONSchema

extension APIRoute {
    static let listUsers = APIRoute("GET", "/api/v1/users")
    static let getUser = APIRoute("GET", "/api/v1/users/{id}")
    static let createUser = APIRoute("POST", "/api/v1/users")
    static let deleteUser = APIRoute("DELETE", "/api/v1/users/{id}")
}

/// `agentbox user`: users, through the server (admins).
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "List, show, create and delete users (admins).",
        subcommands: [List.self, Get.self, Create.self, Delete.self])

    static let columns = [Column("ID", "id"), Column("NAME", "name"), Column("ROLE", "role"), Column("CREATED", "created_at")]

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        static let routes: [APIRoute] = [.listUsers]

        @OptionGroup var page: PageOptions
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try Output.page(try await api.send(.listUsers, query: page.query), json: client.json, columns: UserCommand.columns, noun: "users")
        }
    }

    struct Get: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Show a user.")
        static let routes: [APIRoute] = [.getUser]

        @Argument(help: "The user's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try Output.record(try await api.send(.getUser, ["id": id]), json: client.json)
        }
    }

    struct Create: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user and print its first token once.")
        static let routes: [APIRoute] = [.createUser]

        @Argument(help: "The user's name.") var name: String
        @Option(help: "admin or user (default user).") var role: String?
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            var body: [String: JSONValue] = ["name": .string(name)]
            if let role { body["role"] = .string(role) }
            let reply = try await api.send(.createUser, body: .object(body))
            if client.json { return Output.raw(reply) }
            let created = try reply.json
            if let user = created.field("user") { print(Output.record(user, first: ["id", "name", "role"])) }
            print(try Output.tokenLine(created.field("token") ?? .null))
        }
    }

    struct Delete: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user that owns nothing.")
        static let routes: [APIRoute] = [.deleteUser]

        @Argument(help: "The user's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            Output.message(try await api.send(.deleteUser, ["id": id]), json: client.json, "deleted user \(id)")
        }
    }
}

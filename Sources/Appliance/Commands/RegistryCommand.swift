import ArgumentParser
import Foundation
import JSONSchema

extension APIRoute {
    static let setRegistryLogin = APIRoute("POST", "/api/v1/registries")
    static let listRegistryLogins = APIRoute("GET", "/api/v1/registries")
    static let deleteRegistryLogin = APIRoute("DELETE", "/api/v1/registries/{registry}")
}

/// `agentbox registry`: logins for private image registries (admins).
struct RegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Store, list and forget logins for private image registries (admins).",
        discussion: """
            Tools whose image comes from a registry with a stored login are pulled with it. The password is sealed \
            in the vault and never shown again; it reaches the Docker engine only for a pull.
            """,
        subcommands: [Login.self, List.self, Logout.self])

    struct Login: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store (or replace) the login for a registry; the password is read from standard input.",
            discussion: "Example: printf %s \"$PASSWORD\" | agentbox registry login registry.example.com:5000 --username ci")
        static let routes: [APIRoute] = [.setRegistryLogin]

        @Argument(help: "The registry as image references start: host[:port].") var registry: String
        @Option(help: "The user name.") var username: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let input = FileHandle.standardInput.readDataToEndOfFile()
            let password = String(decoding: input, as: UTF8.self).trimmingCharacters(in: .newlines)
            guard !password.isEmpty else { throw CLIError("no password on standard input; pipe it in, e.g. printf %s \"$PASSWORD\" | agentbox registry login ...") }
            let body: JSONValue = .object(["registry": .string(registry), "username": .string(username), "password": .string(password)])
            let reply = try await api.send(.setRegistryLogin, body: body)
            Output.message(reply, json: client.json, "stored the login for \(registry) (user \(username))")
        }
    }

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List the stored registry logins (never their passwords).")
        static let routes: [APIRoute] = [.listRegistryLogins]

        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.listRegistryLogins)
            if client.json { return Output.raw(reply) }
            guard case .array(let items)? = try reply.json.field("items"), !items.isEmpty else { return print("no registry logins") }
            print(Output.table(items, [Column("REGISTRY", "registry"), Column("USERNAME", "username"), Column("UPDATED", "updated_at")]))
        }
    }

    struct Logout: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Forget the login for a registry.")
        static let routes: [APIRoute] = [.deleteRegistryLogin]

        @Argument(help: "The registry: host[:port].") var registry: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.deleteRegistryLogin, ["registry": registry])
            Output.message(reply, json: client.json, "forgot the login for \(registry)")
        }
    }
}

import ArgumentParser
import Foundation
import JSONSchema

extension APIRoute {
    static let setDigitalOceanToken = APIRoute("PUT", "/api/v1/admin/digitalocean/token")
    static let getDigitalOceanAccount = APIRoute("GET", "/api/v1/admin/digitalocean")
    static let forgetDigitalOceanToken = APIRoute("DELETE", "/api/v1/admin/digitalocean/token")
}

/// `agentbox digitalocean`: the appliance's DigitalOcean API token (admins).
struct DigitalOceanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digitalocean",
        abstract: "Set, show and forget the DigitalOcean API token that remote toolboxes use (admins).",
        discussion: """
            The token is checked against DigitalOcean's /v2/account before it is kept, sealed in the vault, and never \
            shown again. `agentbox serve --digitalocean-api URL` points the appliance at another API, such as the \
            stand-in agentbox-do-sim for developing without a cloud account.
            """,
        subcommands: [SetToken.self, Status.self, Forget.self])

    static let fieldOrder = ["provider", "api_url", "account_email", "account_uuid", "validated_at"]

    struct SetToken: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-token", abstract: "Check and store the DigitalOcean API token, read from standard input.",
            discussion: "Example: printf %s \"$DIGITALOCEAN_TOKEN\" | agentbox digitalocean set-token")
        static let routes: [APIRoute] = [.setDigitalOceanToken]

        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let token = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else {
                throw CLIError("no token on standard input; pipe it in, e.g. printf %s \"$DIGITALOCEAN_TOKEN\" | agentbox digitalocean set-token")
            }
            let reply = try await api.send(.setDigitalOceanToken, body: .object(["token": .string(token)]))
            try Output.record(reply, json: client.json, first: DigitalOceanCommand.fieldOrder)
        }
    }

    struct Status: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Show the stored token's account, when it was last accepted, and the API in use.")
        static let routes: [APIRoute] = [.getDigitalOceanAccount]

        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try Output.record(try await api.send(.getDigitalOceanAccount), json: client.json, first: DigitalOceanCommand.fieldOrder)
        }
    }

    struct Forget: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Forget the stored DigitalOcean token.")
        static let routes: [APIRoute] = [.forgetDigitalOceanToken]

        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            Output.message(try await api.send(.forgetDigitalOceanToken), json: client.json, "forgot the DigitalOcean token")
        }
    }
}

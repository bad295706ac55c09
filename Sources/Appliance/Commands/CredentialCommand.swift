import ArgumentParser
import JSONSchema

extension APIRoute {
    static let addCredential = APIRoute("POST", "/api/v1/toolbelt/{id}/credentials")
    static let listCredentials = APIRoute("GET", "/api/v1/toolbelt/{id}/credentials")
    static let getCredential = APIRoute("GET", "/api/v1/credentials/{id}")
    static let updateCredential = APIRoute("PATCH", "/api/v1/credentials/{id}")
    static let deleteCredential = APIRoute("DELETE", "/api/v1/credentials/{id}")
}

/// `agentbox credential`: an agent's sealed credentials for a toolbelt item (never shown back).
struct CredentialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credential",
        abstract: "Store an agent's credentials for a toolbelt item; list, show, change the status of and delete them.",
        discussion: """
            Secrets are read from a file or standard input, never from a flag, and never shown back: \
            only a masked account identifier and the status.
            """,
        subcommands: [Add.self, List.self, Get.self, SetStatus.self, Delete.self])

    static let fieldOrder = ["id", "toolbelt_item_id", "credential_type", "account_identifier", "status"]

    struct Add: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal credentials for a toolbelt item.",
            discussion: """
                The file holds the secret as a JSON object, checked against the tool's secrets schema, e.g. {"api_key": "..."}. \
                Use --file - to read it from standard input.
                """)
        static let routes: [APIRoute] = [.addCredential]

        @Argument(help: "The toolbelt item's id.") var item: String
        @Option(help: ArgumentHelp("The secret as a JSON object (- for standard input).", valueName: "file")) var file: String
        @Option(help: "The kind of credential, e.g. api_key or oauth2.") var type: String
        @Option(help: "Which account it is (shown back masked), e.g. an email address.") var account: String?
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            var body: [String: JSONValue] = ["credential_type": .string(type), "credentials": .object(try InputFile.object(file, secret: true))]
            if let account { body["account_identifier"] = .string(account) }
            let reply = try await api.send(.addCredential, ["id": item], body: .object(body))
            try Output.record(reply, json: client.json, first: CredentialCommand.fieldOrder)
        }
    }

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List the credentials of a toolbelt item.")
        static let routes: [APIRoute] = [.listCredentials]

        @Argument(help: "The toolbelt item's id.") var item: String
        @Option(help: "Only credentials in this status (active, revoked, requires_reauth or error).") var status: String?
        @OptionGroup var page: PageOptions
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let columns = [
                Column("ID", "id"), Column("TYPE", "credential_type"), Column("ACCOUNT", "account_identifier"), Column("STATUS", "status"),
                Column("VALIDATED", "last_validated_at"), Column("UPDATED", "updated_at"),
            ]
            let reply = try await api.send(.listCredentials, ["id": item], query: [("status", status)] + page.query)
            try Output.page(reply, json: client.json, columns: columns, noun: "credentials")
        }
    }

    struct Get: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Show a credential (never its secret).")
        static let routes: [APIRoute] = [.getCredential]

        @Argument(help: "The credential's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            try Output.record(try await api.send(.getCredential, ["id": id]), json: client.json, first: CredentialCommand.fieldOrder)
        }
    }

    struct SetStatus: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Change a credential's status (active, revoked, requires_reauth or error).")
        static let routes: [APIRoute] = [.updateCredential]

        @Argument(help: "The credential's id.") var id: String
        @Argument(help: "The new status.") var status: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            let reply = try await api.send(.updateCredential, ["id": id], body: .object(["status": .string(status)]))
            try Output.record(reply, json: client.json, first: CredentialCommand.fieldOrder)
        }
    }

    struct Delete: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a credential and its sealed secret.")
        static let routes: [APIRoute] = [.deleteCredential]

        @Argument(help: "The credential's id.") var id: String
        @OptionGroup var client: ClientOptions

        func run(_ api: APIClient) async throws {
            Output.message(try await api.send(.deleteCredential, ["id": id]), json: client.json, "deleted credential \(id)")
        }
    }
}

import ArgumentParser

extension APIRoute {
    static let me = APIRoute("GET", "/api/v1/me")
}

/// `agentbox me`: who the token belongs to.
struct MeCommand: ClientCommand {
    static let configuration = CommandConfiguration(commandName: "me", abstract: "Show who the token belongs to.")
    static let routes: [APIRoute] = [.me]

    @OptionGroup var client: ClientOptions

    func run(_ api: APIClient) async throws {
        try Output.record(try await api.send(.me), json: client.json, first: ["kind", "id", "name", "role"])
    }
}

import ArgumentParser

/// A command that calls the API: it declares every route it may call, so that a test can prove that
/// each route of the server has a command.
protocol APICommand: AsyncParsableCommand {
    /// The routes this command calls (method and OpenAPI path).
    static var routes: [APIRoute] { get }
}

/// An API command with the usual shape: the shared client options, and a body that gets a connected client.
protocol ClientCommand: APICommand {
    var client: ClientOptions { get }
    /// Runs the command against the server.
    func run(_ api: APIClient) async throws
}

extension ClientCommand {
    func run() async throws {
        try await run(try client.connect(routes: Self.routes))
    }
}

/// The API commands reachable from `agentbox`, found by walking the command tree.
enum APICommands {
    /// Every API command type under `root`.
    static func all(under root: any ParsableCommand.Type = Agentbox.self) -> [any APICommand.Type] {
        var found: [any APICommand.Type] = []
        func visit(_ command: any ParsableCommand.Type) {
            if let command = command as? any APICommand.Type { found.append(command) }
            command.configuration.subcommands.forEach(visit)
        }
        visit(root)
        return found
    }

    /// Every route some command calls.
    static var routes: Set<APIRoute> { Set(all().flatMap { $0.routes }) }
}

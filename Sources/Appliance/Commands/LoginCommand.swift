import ArgumentParser
import Foundation

/// `agentbox login`: checks a token against a server and saves both for the other client commands.
struct LoginCommand: APICommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Check a token with the server and save the server and token for later commands.",
        discussion: """
            Saves to $XDG_CONFIG_HOME/agentbox/client.json (default ~/.config/agentbox/client.json), readable only by you. \
            Give the token with --token -, which reads it from standard input, to keep it out of your shell history.
            """)
    static let routes: [APIRoute] = [.me]

    @Option(help: ArgumentHelp("The server's URL (env AGENTBOX_SERVER; default \(ClientOptions.defaultServer)).", valueName: "url"))
    var server: String?

    @Option(help: ArgumentHelp("The API token, or - to read it from standard input (env AGENTBOX_TOKEN).", valueName: "token"))
    var token: String?

    @Flag(help: "Print the API's answer to GET /api/v1/me as JSON.")
    var json = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let url = try ClientOptions.normalized(server ?? environment["AGENTBOX_SERVER"] ?? ClientOptions.defaultServer)
        var secret = token ?? environment["AGENTBOX_TOKEN"]
        if secret == "-" {
            secret = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        guard let secret = secret?.trimmingCharacters(in: .whitespacesAndNewlines), !secret.isEmpty else {
            throw CLIError("give the token with --token TOKEN, or --token - to read it from standard input")
        }
        let reply = try await APIClient(server: url, token: secret, routes: Self.routes).send(.me)
        let me = try reply.json
        let path = ClientConfigFile.path()
        try ClientConfigFile(server: url, token: secret).save(to: path)
        if json { return Output.raw(reply) }
        let role = me.string("role").map { ", \($0)" } ?? ""
        print("logged in to \(url) as \(me.string("name") ?? "?") (\(me.string("kind") ?? "?")\(role))")
        print("saved to \(path)")
    }
}

/// `agentbox logout`: forgets the saved server and token.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Remove the server and token saved by `agentbox login`.",
        discussion: "The token stays valid on the server; revoke it with `agentbox token revoke ID` if it should stop working.")

    func run() async throws {
        let path = ClientConfigFile.path()
        print(try ClientConfigFile.remove(at: path) ? "logged out (removed \(path))" : "not logged in (no \(path))")
    }
}

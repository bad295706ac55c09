import ArgumentParser
import Foundation

/// The options of every command that talks to a running server: where it is, the token, and the output form.
struct ClientOptions: ParsableArguments {
    /// Where a client looks when nothing says otherwise (the port `agentbox serve` listens on by default).
    static let defaultServer = "http://127.0.0.1:8420"

    @Option(help: ArgumentHelp(
        "The server's URL (env AGENTBOX_SERVER; else the one saved by `agentbox login`; default \(ClientOptions.defaultServer)).",
        valueName: "url"))
    var server: String?

    @Option(help: ArgumentHelp(
        "An API token (env AGENTBOX_TOKEN; else the one saved by `agentbox login` for that server).", valueName: "token"))
    var token: String?

    @Flag(help: "Print the API's JSON unchanged instead of a table, for scripts.")
    var json = false

    private var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The server URL by flag, environment, saved file or default, without a trailing slash.
    func serverURL(saved: ClientConfigFile?) throws -> String {
        try Self.normalized(server ?? environment["AGENTBOX_SERVER"] ?? saved?.server ?? Self.defaultServer)
    }

    /// A client for the server, with the token by flag, environment, or the saved file when it was
    /// saved for this same server (a saved token is never sent to another server).
    func connect(routes: [APIRoute]) throws -> APIClient {
        let needsFile = (server ?? environment["AGENTBOX_SERVER"]) == nil || (token ?? environment["AGENTBOX_TOKEN"]) == nil
        let saved = needsFile ? try ClientConfigFile.load(from: ClientConfigFile.path()) : nil
        let url = try serverURL(saved: saved)
        var resolved = token ?? environment["AGENTBOX_TOKEN"]
        if resolved == nil, let saved, (try? Self.normalized(saved.server)) == url {
            resolved = saved.token
        }
        guard let resolved, !resolved.isEmpty else {
            var message = "no API token for \(url): pass --token, set AGENTBOX_TOKEN, or run `agentbox login --server \(url) --token -`"
            if let saved, (try? Self.normalized(saved.server)) != url {
                message += " (the saved login is for \(saved.server))"
            }
            throw CLIError(message)
        }
        return APIClient(server: url, token: resolved, routes: routes)
    }

    /// Checks a server URL and drops a trailing slash.
    static func normalized(_ text: String) throws -> String {
        var url = text.trimmingCharacters(in: .whitespaces)
        while url.hasSuffix("/") { url.removeLast() }
        let lower = url.lowercased()
        guard (lower.hasPrefix("http://") || lower.hasPrefix("https://")), url.count > (lower.hasPrefix("https") ? 8 : 7) else {
            throw CLIError("the server URL '\(text)' must start with http:// or https://, e.g. \(defaultServer)")
        }
        guard !url.contains("?"), !url.contains("#"), !url.contains(" ") else {
            throw CLIError("the server URL '\(text)' must be a plain base URL such as \(defaultServer)")
        }
        return url
    }
}

/// `--limit` and `--offset` of list commands.
struct PageOptions: ParsableArguments {
    @Option(help: "How many to show (1-200; default 50).")
    var limit: Int?

    @Option(help: "How many to skip.")
    var offset: Int?

    /// The query items of the page.
    var query: [(String, String?)] {
        [("limit", limit.map(String.init)), ("offset", offset.map(String.init))]
    }
}

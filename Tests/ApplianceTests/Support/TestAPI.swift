import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// A real `agentbox serve` on a loopback port with a fresh data directory and an admin, and an HTTP client for it.
struct TestAPI {
    let folder: TemporaryDirectory
    let server: RunningServer
    /// The token of the admin made with `agentbox admin create`.
    let adminToken: String

    /// Creates an admin offline, then starts the server with `serveArguments` added. By default the local
    /// toolboxes' DTMA is off (`--reconcile-interval 0`), so instances stay as the API left them; tests of
    /// real deployments pass their own interval and port range.
    /// The data directory is `data` in `folder` (a new temporary folder unless given).
    static func start(
        serveArguments: [String] = ["--reconcile-interval", "0"], environment: [String: String] = [:], folder: TemporaryDirectory? = nil
    ) async throws -> TestAPI {
        let folder = try folder ?? TemporaryDirectory()
        var agentbox = AgentboxProcess(folder: folder)
        agentbox.environment = environment
        let data = folder.appending("data")
        let created = try await agentbox.run(["admin", "create", "root", "--json", "--data-dir", data])
        guard created.status == 0, let line = created.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], let token = object["token"]
        else {
            throw ServeFailed(status: created.status, output: created.output)
        }
        let server = try await agentbox.serve(["--data-dir", data] + serveArguments)
        return TestAPI(folder: folder, server: server, adminToken: token)
    }

    /// A new server on the same data directory and admin, after this one stopped or was killed.
    func restarted(serveArguments: [String], environment: [String: String] = [:]) async throws -> TestAPI {
        var agentbox = AgentboxProcess(folder: folder)
        agentbox.environment = environment
        let server = try await agentbox.serve(["--data-dir", folder.appending("data")] + serveArguments)
        return TestAPI(folder: folder, server: server, adminToken: adminToken)
    }

    /// An answer: status, raw body and the body as JSON when it is JSON.
    struct Reply {
        let status: Int
        let body: Data
        let headers: [String: String]

        /// The body as a JSON object (empty when it is not one).
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        /// The `items` of a page.
        var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
        /// The error code of an error answer.
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        /// A string field of the body.
        func string(_ key: String) -> String? { json[key] as? String }
    }

    /// Sends a request; `body` is encoded as JSON unless it is already `Data`.
    func request(_ method: String, _ path: String, token: String?, body: Any? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)\(path)")!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = try (body as? Data) ?? JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
        }
        return Reply(status: http.statusCode, body: data, headers: headers)
    }

    /// Creates a user through the API (as the admin) and returns its id and token.
    func createUser(_ name: String, role: String = "user") async throws -> (id: String, token: String) {
        let reply = try await request("POST", "/api/v1/users", token: adminToken, body: ["name": name, "role": role])
        #expect(reply.status == 201, "creating user \(name): \(String(decoding: reply.body, as: UTF8.self))")
        let user = try #require(reply.json["user"] as? [String: Any])
        let token = try #require(reply.json["token"] as? [String: Any])
        return (try #require(user["id"] as? String), try #require(token["token"] as? String))
    }

    /// Stops the server and returns its log.
    @discardableResult
    func stop() async throws -> String { try await server.stop() }
}

import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Hummingbird
import Logging
import Services
import Testing

@testable import Appliance

/// The appliance's HTTP API served inside the test process, over a control plane the test also holds, on a
/// loopback port: for tests that need real HTTP requests next to the backend's in-memory state (call tickets).
struct InProcessServer {
    let port: Int
    private let task: Task<Void, any Error>

    /// Serves `plane` with the same router as `agentbox serve`, on 127.0.0.1 and a free port.
    static func start(_ plane: ControlPlane) async throws -> InProcessServer {
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "agentbox.test-server")
        logger.logLevel = .warning
        let app = Application(
            router: try HTTPServer.router(plane), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in listening.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        return InProcessServer(port: port, task: task)
    }

    func stop() {
        task.cancel()
    }

    /// `POST path` with a JSON body and a bearer token: the status and the parsed JSON answer.
    func post(_ path: String, token: String?, body: [String: Any]) async throws -> (status: Int, json: [String: Any], text: String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = try #require(response as? HTTPURLResponse).statusCode
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:], String(decoding: data, as: UTF8.self))
    }
}

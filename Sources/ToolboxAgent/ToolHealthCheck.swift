import Foundation
import HTTPClient

/// Asks a tool container whether it is ready: `GET /health` on its published port must answer 2xx
/// (the tool contract, ARCHITECTURE.md). Used before an upgrade keeps its new container.
struct ToolHealthCheck: Sendable {
    let client = HTTPClient(configuration: .init(connectTimeout: .seconds(1), timeout: .seconds(2), maximumResponseSize: 64 << 10))

    /// Polls until the tool answers 2xx or `timeout` passes; the last failure otherwise.
    func waitUntilHealthy(hostPort: Int, timeout: Duration) async -> String? {
        let deadline = ContinuousClock.now + timeout
        var failure = "no answer"
        repeat {
            do {
                let response = try await client.send(HTTPRequest(url: "http://127.0.0.1:\(hostPort)/health"))
                if (200..<300).contains(response.status) { return nil }
                failure = "GET /health answered \(response.status)"
            } catch {
                failure = "GET /health failed: \(error.message)"
            }
            try? await Task.sleep(for: .milliseconds(200))
        } while ContinuousClock.now < deadline
        return failure
    }
}

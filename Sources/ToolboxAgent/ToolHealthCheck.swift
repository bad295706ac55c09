import Foundation
import HTTPClient

/// Asks a tool container whether it is ready: `GET /health` on its published port must answer 2xx
/// (the tool contract, ARCHITECTURE.md). A started container counts as running once it does.
struct ToolHealthCheck: Sendable {
    let client = HTTPClient(configuration: .init(connectTimeout: .seconds(1), timeout: .seconds(2), maximumResponseSize: 64 << 10))

    /// Asks once: nil when the tool answers 2xx, what went wrong otherwise.
    func check(hostPort: Int) async -> String? {
        do {
            let response = try await client.send(HTTPRequest(url: "http://127.0.0.1:\(hostPort)/health"))
            return (200..<300).contains(response.status) ? nil : "GET /health answered \(response.status)"
        } catch {
            return "GET /health failed: \(error.message)"
        }
    }
}

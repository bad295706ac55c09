import Hummingbird
import Logging
import Services

/// The HTTP side of `agentbox serve`.
struct HTTPServer {
    let backend: Backend
    let host: String
    let port: Int
    let logger: Logger

    /// Serves until SIGTERM or SIGINT.
    func run() async throws {
        let router = Router()
        router.get("/healthz") { _, _ in Health(status: "ok", version: AgentboxVersion.current) }
        let logger = self.logger
        let dataDirectory = backend.directory.path
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "agentbox"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("agentbox is listening on http://\(host):\(port) (data directory \(dataDirectory))")
            },
            logger: logger)
        try await app.runService()
    }
}

/// The answer of `GET /healthz`.
struct Health: ResponseEncodable {
    let status: String
    let version: String
}

import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import Services
import ToolboxProtocol

/// The HTTP side of `agentbox serve`.
struct HTTPServer {
    let plane: ControlPlane
    let host: String
    let port: Int
    let logger: Logger
    /// The readiness probe's Docker socket and the metrics registry.
    var operations = OperatorSettings()
    /// Serve HTTPS with this identity instead of plain HTTP.
    var identity: ServerIdentity?
    /// Called with the port once the server listens (for port 0: the one picked).
    var onListening: (@Sendable (Int) -> Void)?

    /// Every resource's routes.
    static var groups: [any RouteGroup.Type] { [HealthRoutes.self, UserRoutes.self, AgentRoutes.self, TokenRoutes.self, AdminRoutes.self, CatalogRoutes.self, ToolboxRoutes.self, InstanceRoutes.self, RegistryRoutes.self, ToolbeltRoutes.self, CredentialRoutes.self, HandoutRoutes.self, DTMARoutes.self, AgentPackageRoutes.self, ToolCallRoutes.self, DigitalOceanRoutes.self] }

    /// The OpenAPI document of every route group.
    static func openAPIDocument() throws -> Data {
        try OpenAPIDocument.build(groups.map { $0.openAPI } + [OperatorRoutes.openAPI, OpenAPIRoutes.openAPI], version: AgentboxBuild.version)
    }

    /// Every endpoint of the API.
    static func endpoints(_ plane: ControlPlane, operations: OperatorSettings = OperatorSettings()) throws -> [Endpoint] {
        groups.flatMap { $0.endpoints(plane) } + OperatorRoutes.endpoints(plane, operations)
            + [OpenAPIRoutes.endpoint(document: try openAPIDocument())]
    }

    /// The router with every endpoint and the web console, the request log and metrics middleware, and the error
    /// middleware. `secure` marks the console's cookies Secure (the server speaks TLS).
    static func router(_ plane: ControlPlane, operations: OperatorSettings = OperatorSettings(), secure: Bool = false) throws -> Router<APIContext> {
        let endpoints = try endpoints(plane, operations: operations)
        let router = Router(context: APIContext.self)
        router.add(
            middleware: RequestObservationMiddleware(
                metrics: operations.metrics, routes: Set(endpoints.map(\.path)), quietRoutes: OperatorRoutes.quietRoutes))
        router.add(middleware: APIErrorMiddleware())
        router.add(endpoints, tokens: plane.tokens)
        try Console.register(on: router, plane: plane, secure: secure)
        MCPGateway.register(on: router, plane: plane, logger: Logger(label: "agentbox.mcp"))
        return router
    }

    /// Serves until SIGTERM or SIGINT.
    func run() async throws {
        let logger = self.logger
        let host = self.host
        let dataDirectory = plane.backend.directory.path
        if try await !plane.users.hasAdmin() {
            logger.notice("no admin exists yet; create one with: agentbox admin create NAME --data-dir \(dataDirectory) (stop the server first)")
        }
        let scheme = identity == nil ? "http" : "https"
        let pin = identity.map { " (TLS public key pin \($0.pin))" } ?? ""
        let onListening = self.onListening
        let app = Application(
            router: try Self.router(plane, operations: operations, secure: identity != nil),
            server: try identity.map { try .tls(.http1(), tlsConfiguration: $0.tlsConfiguration()) } ?? .http1(),
            configuration: .init(address: .hostname(host, port: port), serverName: "agentbox"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("agentbox is listening on \(scheme)://\(host):\(port)\(pin) (data directory \(dataDirectory))")
                onListening?(port)
            },
            logger: logger)
        try await app.runService()
    }
}

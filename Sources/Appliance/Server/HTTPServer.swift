import Foundation
import Hummingbird
import Logging
import Services

/// The HTTP side of `agentbox serve`.
struct HTTPServer {
    let plane: ControlPlane
    let host: String
    let port: Int
    let logger: Logger

    /// Every resource's routes.
    static var groups: [any RouteGroup.Type] { [HealthRoutes.self, UserRoutes.self, AgentRoutes.self, TokenRoutes.self, AdminRoutes.self, CatalogRoutes.self, ToolboxRoutes.self, InstanceRoutes.self, ToolbeltRoutes.self, CredentialRoutes.self] }

    /// The OpenAPI document of every route group.
    static func openAPIDocument() throws -> Data {
        try OpenAPIDocument.build(groups.map { $0.openAPI } + [OpenAPIRoutes.openAPI], version: AgentboxVersion.current)
    }

    /// Every endpoint of the API.
    static func endpoints(_ plane: ControlPlane) throws -> [Endpoint] {
        groups.flatMap { $0.endpoints(plane) } + [OpenAPIRoutes.endpoint(document: try openAPIDocument())]
    }

    /// The router with every endpoint and the error middleware.
    static func router(_ plane: ControlPlane) throws -> Router<APIContext> {
        let router = Router(context: APIContext.self)
        router.add(middleware: APIErrorMiddleware())
        router.add(try endpoints(plane), tokens: plane.tokens)
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
        let app = Application(
            router: try Self.router(plane),
            configuration: .init(address: .hostname(host, port: port), serverName: "agentbox"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("agentbox is listening on http://\(host):\(port) (data directory \(dataDirectory))")
            },
            logger: logger)
        try await app.runService()
    }
}

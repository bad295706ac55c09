import Hummingbird
import Services
import ToolboxProtocol

/// `GET /healthz`: the process answers.
enum HealthRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            Endpoint(.get, "/healthz", .anyone) { _ in
                try JSONResponse.encode(Health(status: "ok", version: AgentboxBuild.version))
            }
        ]
    }

    /// The answer of `GET /healthz`.
    struct Health: Codable, Sendable {
        let status: String
        let version: String
    }
}

extension HealthRoutes {
    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/healthz": {"get": {"operationId": "health", "summary": "Whether the process answers", "tags": ["health"], "security": [],
                "responses": {"200": {"description": "Alive.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}}}
            }
            """#,
        schemas: #"""
            {"Health": {"type": "object", "required": ["status", "version"], "additionalProperties": false,
              "properties": {"status": {"const": "ok"}, "version": {"type": "string"}}}}
            """#)
}

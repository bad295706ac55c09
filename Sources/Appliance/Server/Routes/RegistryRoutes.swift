import Foundation
import Hummingbird
import Services
import Storage

/// Logins for private image registries (admins): `/api/v1/registries`.
enum RegistryRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            Endpoint(.post, "/api/v1/registries") { call in
                let body = try await call.body(RegistryBody.self)
                let credential = try await plane.registries.set(
                    registry: body.registry, username: body.username, password: body.password, by: try call.caller)
                return try JSONResponse.encode(RegistryView(credential))
            },
            Endpoint(.get, "/api/v1/registries") { call in
                try JSONResponse.encode(ItemsView(items: try await plane.registries.list(by: try call.caller).map(RegistryView.init)))
            },
            Endpoint(.delete, "/api/v1/registries/{registry}") { call in
                guard let registry = call.context.parameters.get("registry")?.removingPercentEncoding else {
                    throw ServiceError(.invalidRequest, "the path names no registry")
                }
                try await plane.registries.delete(registry: registry, by: try call.caller)
                return Response(status: .noContent)
            },
        ]
    }

    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/registries": {
                "post": {"operationId": "setRegistryLogin", "summary": "Store (or replace) the login for a private image registry (admins); the password is sealed and never shown again", "tags": ["registries"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegistryLogin"}}}},
                  "responses": {"200": {"description": "The stored login, without its password.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Registry"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "413": {"$ref": "#/components/responses/TooLarge"}}},
                "get": {"operationId": "listRegistryLogins", "summary": "List the stored registry logins, without passwords (admins)", "tags": ["registries"],
                  "responses": {"200": {"description": "The logins.", "content": {"application/json": {"schema": {"type": "object", "required": ["items"],
                      "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Registry"}}}}}}},
                    "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}}
              },
              "/api/v1/registries/{registry}": {
                "parameters": [{"name": "registry", "in": "path", "required": true, "schema": {"type": "string"}, "description": "host[:port]"}],
                "delete": {"operationId": "deleteRegistryLogin", "summary": "Forget the login for a registry (admins)", "tags": ["registries"],
                  "responses": {"204": {"description": "Forgotten."}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}}
              }
            }
            """#,
        schemas: #"""
            {
              "Registry": {"type": "object", "additionalProperties": false, "required": ["id", "registry", "username", "created_at", "updated_at"],
                "properties": {"id": {"$ref": "#/components/schemas/Id"}, "registry": {"type": "string"}, "username": {"type": "string"},
                  "created_at": {"$ref": "#/components/schemas/Time"}, "updated_at": {"$ref": "#/components/schemas/Time"}}},
              "RegistryLogin": {"type": "object", "required": ["registry", "username", "password"],
                "properties": {"registry": {"type": "string", "description": "host[:port] as image references start, e.g. registry.example.com:5000"},
                  "username": {"type": "string"}, "password": {"type": "string", "writeOnly": true}}}
            }
            """#)
}

import Foundation
import Hummingbird
import Services
import Storage

/// The appliance's DigitalOcean token (admins): `/api/v1/admin/digitalocean`.
enum DigitalOceanRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            Endpoint(.put, "/api/v1/admin/digitalocean/token") { call in
                let body = try await call.body(DigitalOceanTokenBody.self)
                let credential = try await plane.digitalOcean.setToken(body.token, by: try call.caller)
                return try JSONResponse.encode(DigitalOceanAccountView(credential, apiURL: plane.digitalOcean.apiURL))
            },
            Endpoint(.get, "/api/v1/admin/digitalocean") { call in
                guard let credential = try await plane.digitalOcean.status(by: try call.caller) else {
                    throw ServiceError(.notFound, "no DigitalOcean token is stored; set one with: agentbox digitalocean set-token")
                }
                return try JSONResponse.encode(DigitalOceanAccountView(credential, apiURL: plane.digitalOcean.apiURL))
            },
            Endpoint(.delete, "/api/v1/admin/digitalocean/token") { call in
                try await plane.digitalOcean.forget(by: try call.caller)
                return Response(status: .noContent)
            },
        ]
    }

    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/admin/digitalocean/token": {
                "put": {"operationId": "setDigitalOceanToken", "summary": "Check a DigitalOcean API token against /v2/account and keep it sealed (admins); never shown again", "tags": ["digitalocean"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["token"],
                    "properties": {"token": {"type": "string", "writeOnly": true}}}}}},
                  "responses": {"200": {"description": "The token's account.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DigitalOceanAccount"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "413": {"$ref": "#/components/responses/TooLarge"},
                    "422": {"description": "DigitalOcean refused the token (digitalocean_token_rejected).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "503": {"$ref": "#/components/responses/Unavailable"}}},
                "delete": {"operationId": "forgetDigitalOceanToken", "summary": "Forget the DigitalOcean token (admins)", "tags": ["digitalocean"],
                  "responses": {"204": {"description": "Forgotten."}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}}
              },
              "/api/v1/admin/digitalocean": {
                "get": {"operationId": "getDigitalOceanAccount", "summary": "The stored DigitalOcean token's account and the API in use (admins)", "tags": ["digitalocean"],
                  "responses": {"200": {"description": "The account.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DigitalOceanAccount"}}}},
                    "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
                    "404": {"$ref": "#/components/responses/NotFound"}}}
              }
            }
            """#,
        schemas: #"""
            {
              "DigitalOceanAccount": {"type": "object", "additionalProperties": false, "required": ["provider", "api_url", "validated_at", "updated_at"],
                "properties": {"provider": {"type": "string", "enum": ["digitalocean"]}, "api_url": {"type": "string"},
                  "account_email": {"type": ["string", "null"]}, "account_uuid": {"type": ["string", "null"]},
                  "validated_at": {"$ref": "#/components/schemas/Time"}, "updated_at": {"$ref": "#/components/schemas/Time"}}}
            }
            """#)
}

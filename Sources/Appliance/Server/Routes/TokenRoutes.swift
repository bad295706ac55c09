import Hummingbird
import Services

/// `/api/v1/tokens`: the caller's own tokens and its agents'.
enum TokenRoutes: RouteGroup {
    /// The overlap a rotated token keeps when the request does not say.
    static let defaultOverlapSeconds = 3_600

    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            Endpoint(.get, "/api/v1/tokens") { call in
                let page = try call.page()
                return try JSONResponse.encode(PageView(try await plane.tokens.list(page: page, by: try call.caller), page, TokenView.init))
            },
            Endpoint(.post, "/api/v1/tokens") { call in
                let body = try await call.body(IssueTokenBody.self)
                let issued = try await plane.tokens.issueForSelf(name: body.name, expiresInSeconds: body.expiresInSeconds, by: try call.caller)
                return try JSONResponse.encode(IssuedTokenView(issued), status: .created)
            },
            Endpoint(.delete, "/api/v1/tokens/{id}") { call in
                try await plane.tokens.revoke(try call.id(), by: try call.caller)
                return Response(status: .noContent)
            },
            Endpoint(.post, "/api/v1/tokens/{id}/rotate") { call in
                let body = try await call.body(RotateTokenBody.self)
                let overlap = body.overlapSeconds ?? defaultOverlapSeconds
                guard (0...30 * 86_400).contains(overlap) else {
                    throw ServiceError(.invalidRequest, "overlap_seconds must be between 0 and 2592000 (30 days)")
                }
                let issued = try await plane.tokens.rotate(try call.id(), overlap: Double(overlap), by: try call.caller)
                return try JSONResponse.encode(IssuedTokenView(issued), status: .created)
            },
        ]
    }
}

extension TokenRoutes {
    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/tokens": {
                "get": {"operationId": "listTokens", "summary": "The caller's tokens and its agents' (all for admins)", "tags": ["tokens"],
                  "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"}],
                  "responses": {"200": {"description": "A page of tokens.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenPage"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}}},
                "post": {"operationId": "issueToken", "summary": "Issue a token for the calling user (shown once)", "tags": ["tokens"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenCreate"}}}},
                  "responses": {"201": {"description": "The token.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IssuedToken"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "413": {"$ref": "#/components/responses/TooLarge"}}}
              },
              "/api/v1/tokens/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "delete": {"operationId": "revokeToken", "summary": "Revoke a token now", "tags": ["tokens"],
                  "responses": {"204": {"description": "Revoked."}, "400": {"$ref": "#/components/responses/BadRequest"},
                    "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}}
              },
              "/api/v1/tokens/{id}/rotate": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "post": {"operationId": "rotateToken", "summary": "Issue a successor; the old token expires after the overlap", "tags": ["tokens"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenRotate"}}}},
                  "responses": {"201": {"description": "The successor.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IssuedToken"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "404": {"$ref": "#/components/responses/NotFound"}, "409": {"$ref": "#/components/responses/Conflict"},
                    "413": {"$ref": "#/components/responses/TooLarge"}}}
              }
            }
            """#,
        schemas: #"""
            {
              "Token": {"type": "object", "required": ["id", "kind", "prefix", "created_at"], "additionalProperties": false,
                "properties": {"id": {"$ref": "#/components/schemas/Id"}, "kind": {"enum": ["user", "agent", "toolbox", "enrollment"]},
                  "name": {"type": "string"}, "prefix": {"type": "string"}, "user_id": {"$ref": "#/components/schemas/Id"},
                  "agent_id": {"$ref": "#/components/schemas/Id"}, "toolbox_id": {"$ref": "#/components/schemas/Id"},
                  "created_at": {"$ref": "#/components/schemas/Time"}, "last_used_at": {"$ref": "#/components/schemas/Time"},
                  "expires_at": {"$ref": "#/components/schemas/Time"}, "revoked_at": {"$ref": "#/components/schemas/Time"}}},
              "IssuedToken": {"type": "object", "required": ["token", "info"], "additionalProperties": false,
                "properties": {"token": {"type": "string", "pattern": "^abx_[uate]_[A-Za-z0-9_-]{49}$"}, "info": {"$ref": "#/components/schemas/Token"}}},
              "TokenCreate": {"type": "object",
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
                  "expires_in_seconds": {"type": "integer", "minimum": 1, "maximum": 315360000}}},
              "TokenRotate": {"type": "object", "properties": {"overlap_seconds": {"type": "integer", "minimum": 0, "maximum": 2592000}}},
              "TokenPage": {"allOf": [{"$ref": "#/components/schemas/PageMeta"}, {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Token"}}}}]}
            }
            """#)
}

import Hummingbird
import Services

/// `/api/v1/agents` and an agent's tokens.
enum AgentRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            Endpoint(.post, "/api/v1/agents") { call in
                let body = try await call.body(AgentBody.self)
                guard let name = body.name else { throw ServiceError(.invalidRequest, "the body is missing the field name") }
                let agent = try await plane.agents.create(name: name, description: body.description, by: try call.caller)
                return try JSONResponse.encode(AgentView(agent), status: .created)
            },
            Endpoint(.get, "/api/v1/agents") { call in
                let page = try call.page()
                let agents = try await plane.agents.list(userID: try call.queryID("user_id"), name: call.query("name"), page: page, by: try call.caller)
                return try JSONResponse.encode(PageView(agents, page, AgentView.init))
            },
            Endpoint(.get, "/api/v1/agents/{id}") { call in
                try JSONResponse.encode(AgentView(try await plane.agents.get(try call.id(), by: try call.caller)))
            },
            Endpoint(.patch, "/api/v1/agents/{id}") { call in
                let body = try await call.body(AgentBody.self)
                let agent = try await plane.agents.update(
                    try call.id(), AgentService.Changes(name: body.name, description: body.description), by: try call.caller)
                return try JSONResponse.encode(AgentView(agent))
            },
            Endpoint(.delete, "/api/v1/agents/{id}") { call in
                try await plane.agents.delete(try call.id(), by: try call.caller)
                return Response(status: .noContent)
            },
            Endpoint(.post, "/api/v1/agents/{id}/tokens") { call in
                let body = try await call.body(IssueTokenBody.self)
                let issued = try await plane.agents.issueToken(
                    try call.id(), name: body.name, expiresInSeconds: body.expiresInSeconds, by: try call.caller)
                return try JSONResponse.encode(IssuedTokenView(issued), status: .created)
            },
        ]
    }
}

extension AgentRoutes {
    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/agents": {
                "post": {"operationId": "createAgent", "summary": "Create an agent owned by the caller", "tags": ["agents"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentCreate"}}}},
                  "responses": {"201": {"description": "Created.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Agent"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "409": {"$ref": "#/components/responses/Conflict"},
                    "413": {"$ref": "#/components/responses/TooLarge"}}},
                "get": {"operationId": "listAgents", "summary": "List the caller's agents (all for admins)", "tags": ["agents"],
                  "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"},
                    {"name": "user_id", "in": "query", "required": false, "schema": {"type": "string", "format": "uuid"}},
                    {"name": "name", "in": "query", "required": false, "schema": {"type": "string"}}],
                  "responses": {"200": {"description": "A page of agents.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentPage"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}}}
              },
              "/api/v1/agents/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {"operationId": "getAgent", "summary": "Read an agent", "tags": ["agents"],
                  "responses": {"200": {"description": "The agent.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Agent"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "404": {"$ref": "#/components/responses/NotFound"}}},
                "patch": {"operationId": "updateAgent", "summary": "Rename or re-describe an agent", "tags": ["agents"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentUpdate"}}}},
                  "responses": {"200": {"description": "The agent.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Agent"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "404": {"$ref": "#/components/responses/NotFound"}, "409": {"$ref": "#/components/responses/Conflict"},
                    "413": {"$ref": "#/components/responses/TooLarge"}}},
                "delete": {"operationId": "deleteAgent", "summary": "Delete an agent with its tokens, access and toolbelt", "tags": ["agents"],
                  "responses": {"204": {"description": "Deleted."}, "400": {"$ref": "#/components/responses/BadRequest"},
                    "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}}
              },
              "/api/v1/agents/{id}/tokens": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "post": {"operationId": "issueAgentToken", "summary": "Issue a token for an agent (shown once)", "tags": ["agents", "tokens"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenCreate"}}}},
                  "responses": {"201": {"description": "The token.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IssuedToken"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "404": {"$ref": "#/components/responses/NotFound"}, "413": {"$ref": "#/components/responses/TooLarge"}}}
              }
            }
            """#,
        schemas: #"""
            {
              "Agent": {"type": "object", "required": ["id", "user_id", "name", "created_at", "updated_at"], "additionalProperties": false,
                "properties": {"id": {"$ref": "#/components/schemas/Id"}, "user_id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"},
                  "description": {"type": "string"}, "created_at": {"$ref": "#/components/schemas/Time"}, "updated_at": {"$ref": "#/components/schemas/Time"}}},
              "AgentCreate": {"type": "object", "required": ["name"],
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}, "description": {"type": "string", "maxLength": 2000}}},
              "AgentUpdate": {"type": "object",
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}, "description": {"type": "string", "maxLength": 2000}}},
              "AgentPage": {"allOf": [{"$ref": "#/components/schemas/PageMeta"}, {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Agent"}}}}]}
            }
            """#)
}

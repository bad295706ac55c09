import Hummingbird
import Services

/// `/api/v1/me` and `/api/v1/users`.
enum UserRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            Endpoint(.get, "/api/v1/me") { call in
                try JSONResponse.encode(MeView(try call.caller))
            },
            Endpoint(.post, "/api/v1/users") { call in
                let body = try await call.body(CreateUserBody.self)
                let (user, token) = try await plane.users.create(name: body.name, role: body.role ?? .user, by: try call.caller)
                return try JSONResponse.encode(CreatedUserView(user: UserView(user), token: IssuedTokenView(token)), status: .created)
            },
            Endpoint(.get, "/api/v1/users") { call in
                let page = try call.page()
                return try JSONResponse.encode(PageView(try await plane.users.list(page: page, by: try call.caller), page, UserView.init))
            },
            Endpoint(.get, "/api/v1/users/{id}") { call in
                try JSONResponse.encode(UserView(try await plane.users.get(try call.id(), by: try call.caller)))
            },
            Endpoint(.delete, "/api/v1/users/{id}") { call in
                try await plane.users.delete(try call.id(), by: try call.caller)
                return Response(status: .noContent)
            },
        ]
    }
}

extension UserRoutes {
    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/me": {"get": {"operationId": "me", "summary": "Who the token belongs to", "tags": ["users"],
                "responses": {"200": {"description": "The caller.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Me"}}}},
                  "401": {"$ref": "#/components/responses/Unauthorized"}}}},
              "/api/v1/users": {
                "post": {"operationId": "createUser", "summary": "Create a user with a first token (admins)", "tags": ["users"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserCreate"}}}},
                  "responses": {"201": {"description": "Created; the token is shown once.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreatedUser"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "409": {"$ref": "#/components/responses/Conflict"},
                    "413": {"$ref": "#/components/responses/TooLarge"}, "422": {"$ref": "#/components/responses/Unprocessable"}}},
                "get": {"operationId": "listUsers", "summary": "List users (admins)", "tags": ["users"],
                  "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"}],
                  "responses": {"200": {"description": "A page of users.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserPage"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}}}
              },
              "/api/v1/users/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {"operationId": "getUser", "summary": "Read a user (itself, or any for admins)", "tags": ["users"],
                  "responses": {"200": {"description": "The user.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}},
                "delete": {"operationId": "deleteUser", "summary": "Delete a user that owns nothing (admins)", "tags": ["users"],
                  "responses": {"204": {"description": "Deleted."}, "400": {"$ref": "#/components/responses/BadRequest"},
                    "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
                    "404": {"$ref": "#/components/responses/NotFound"}, "409": {"$ref": "#/components/responses/Conflict"}}}
              }
            }
            """#,
        schemas: #"""
            {
              "User": {"type": "object", "required": ["id", "name", "role", "created_at", "updated_at"], "additionalProperties": false,
                "properties": {"id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"}, "role": {"enum": ["admin", "user"]},
                  "created_at": {"$ref": "#/components/schemas/Time"}, "updated_at": {"$ref": "#/components/schemas/Time"}}},
              "UserCreate": {"type": "object", "required": ["name"],
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}, "role": {"enum": ["admin", "user"]}}},
              "CreatedUser": {"type": "object", "required": ["user", "token"], "additionalProperties": false,
                "properties": {"user": {"$ref": "#/components/schemas/User"}, "token": {"$ref": "#/components/schemas/IssuedToken"}}},
              "UserPage": {"allOf": [{"$ref": "#/components/schemas/PageMeta"}, {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}}]},
              "Me": {"type": "object", "required": ["kind", "id", "name"], "additionalProperties": false,
                "properties": {"kind": {"enum": ["user", "agent", "toolbox"]}, "id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"},
                  "role": {"enum": ["admin", "user"]}}}
            }
            """#)
}

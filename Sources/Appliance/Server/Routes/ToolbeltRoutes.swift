import Foundation
import Hummingbird
import Services

/// An agent's toolbox access (`/api/v1/agents/{id}/toolboxes`), its toolbelt (`/api/v1/agents/{id}/toolbelt`,
/// `/api/v1/toolbelt/{id}`) and the capability permissions of each toolbelt item.
enum ToolbeltRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        let toolbelts = plane.toolbelts
        return [
            Endpoint(.post, "/api/v1/agents/{id}/toolboxes") { call in
                let agentID = try call.id()
                let body = try await call.body(ToolboxAccessBody.self)
                let toolboxID = try uuid(body.toolboxID, field: "toolbox_id")
                let access = try await toolbelts.grantAccess(agentID: agentID, toolboxID: toolboxID, by: try call.caller)
                return try JSONResponse.encode(ToolboxAccessView(access), status: .created)
            },
            Endpoint(.get, "/api/v1/agents/{id}/toolboxes") { call in
                let page = try call.page()
                let access = try await toolbelts.listAccess(agentID: try call.id(), page: page, by: try call.caller)
                return try JSONResponse.encode(PageView(access, page, ToolboxAccessView.init))
            },
            Endpoint(.delete, "/api/v1/agents/{id}/toolboxes/{toolbox_id}") { call in
                try await toolbelts.revokeAccess(agentID: try call.id(), toolboxID: try call.id("toolbox_id"), by: try call.caller)
                return Response(status: .noContent)
            },
            Endpoint(.post, "/api/v1/agents/{id}/toolbelt") { call in
                let agentID = try call.id()
                let body = try await call.body(ToolbeltItemBody.self)
                let instanceID = try uuid(body.instanceID, field: "instance_id")
                let item = try await toolbelts.addItem(agentID: agentID, instanceID: instanceID, isActive: body.isActive ?? true, by: try call.caller)
                return try JSONResponse.encode(ToolbeltItemView(item), status: .created)
            },
            Endpoint(.get, "/api/v1/agents/{id}/toolbelt") { call in
                let page = try call.page()
                let items = try await toolbelts.listItems(
                    agentID: try call.id(), isActive: try call.flag("is_active"), instanceID: try call.queryID("instance_id"), page: page,
                    by: try call.caller)
                return try JSONResponse.encode(PageView(items, page, ToolbeltItemView.init))
            },
            Endpoint(.get, "/api/v1/toolbelt/{id}") { call in
                try JSONResponse.encode(ToolbeltItemView(try await toolbelts.getItem(try call.id(), by: try call.caller)))
            },
            Endpoint(.patch, "/api/v1/toolbelt/{id}") { call in
                let id = try call.id()
                let body = try await call.body(ToolbeltItemBody.self)
                guard let isActive = body.isActive else { throw ServiceError(.invalidRequest, "the body is missing the field is_active") }
                return try JSONResponse.encode(ToolbeltItemView(try await toolbelts.setItemActive(id, isActive, by: try call.caller)))
            },
            Endpoint(.delete, "/api/v1/toolbelt/{id}") { call in
                try await toolbelts.deleteItem(try call.id(), by: try call.caller)
                return Response(status: .noContent)
            },
            Endpoint(.put, "/api/v1/toolbelt/{id}/permissions/{capability}") { call in
                let itemID = try call.id()
                let capability = try call.capability()
                let body = try await call.body(CapabilityPermissionBody.self)
                guard let isAllowed = body.isAllowed else { throw ServiceError(.invalidRequest, "the body is missing the field is_allowed") }
                let (permission, created) = try await toolbelts.setPermission(
                    itemID: itemID, capability: capability, isAllowed: isAllowed, by: try call.caller)
                return try JSONResponse.encode(CapabilityPermissionView(permission), status: created ? .created : .ok)
            },
            Endpoint(.get, "/api/v1/toolbelt/{id}/permissions") { call in
                let page = try call.page()
                let permissions = try await toolbelts.listPermissions(
                    itemID: try call.id(), isAllowed: try call.flag("is_allowed"), page: page, by: try call.caller)
                return try JSONResponse.encode(PageView(permissions, page, CapabilityPermissionView.init))
            },
            Endpoint(.delete, "/api/v1/toolbelt/{id}/permissions/{capability}") { call in
                try await toolbelts.deletePermission(itemID: try call.id(), capability: try call.capability(), by: try call.caller)
                return Response(status: .noContent)
            },
        ]
    }

    /// A required id field of a body.
    private static func uuid(_ text: String?, field: String) throws -> UUID {
        guard let text else { throw ServiceError(.invalidRequest, "the body is missing the field \(field)") }
        guard let id = UUID(uuidString: text) else { throw ServiceError(.invalidRequest, "the field \(field) must be a UUID") }
        return id
    }
}

extension Call {
    /// A query parameter that must be `true` or `false` when present.
    fileprivate func flag(_ name: String) throws -> Bool? {
        switch query(name) {
        case nil: return nil
        case "true": return true
        case "false": return false
        default: throw ServiceError(.invalidRequest, "query parameter \(name) must be true or false")
        }
    }

    /// The `{capability}` path parameter.
    fileprivate func capability() throws -> String {
        guard let text = context.parameters.get("capability"), !text.isEmpty else {
            throw ServiceError(.invalidRequest, "capability in the path must not be empty")
        }
        return text
    }
}

extension ToolbeltRoutes {
    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/agents/{id}/toolboxes": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "post": {"operationId": "grantToolboxAccess", "summary": "Let an agent use a toolbox of its owner", "tags": ["toolbelts"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolboxAccessCreate"}}}},
                  "responses": {"201": {"description": "Granted.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolboxAccess"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"$ref": "#/components/responses/Conflict"}, "413": {"$ref": "#/components/responses/TooLarge"},
                    "422": {"$ref": "#/components/responses/Unprocessable"}}},
                "get": {"operationId": "listToolboxAccess", "summary": "The toolboxes an agent may use", "tags": ["toolbelts"],
                  "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"}],
                  "responses": {"200": {"description": "A page of access grants.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolboxAccessPage"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}}
              },
              "/api/v1/agents/{id}/toolboxes/{toolbox_id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"},
                  {"name": "toolbox_id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
                "delete": {"operationId": "revokeToolboxAccess", "summary": "Take a toolbox away from an agent, with the agent's toolbelt items on it", "tags": ["toolbelts"],
                  "responses": {"204": {"description": "Revoked; the agent's toolbelt items on that toolbox are removed."},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}}
              },
              "/api/v1/agents/{id}/toolbelt": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "post": {"operationId": "addToolbeltItem", "summary": "Put a tool instance on an agent's toolbelt (the agent needs access to its toolbox)", "tags": ["toolbelts"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolbeltItemCreate"}}}},
                  "responses": {"201": {"description": "Added.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolbeltItem"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"$ref": "#/components/responses/Conflict"}, "413": {"$ref": "#/components/responses/TooLarge"},
                    "422": {"$ref": "#/components/responses/Unprocessable"}}},
                "get": {"operationId": "listToolbeltItems", "summary": "An agent's toolbelt", "tags": ["toolbelts"],
                  "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"},
                    {"name": "is_active", "in": "query", "required": false, "schema": {"type": "string", "enum": ["true", "false"]}},
                    {"name": "instance_id", "in": "query", "required": false, "schema": {"type": "string", "format": "uuid"}}],
                  "responses": {"200": {"description": "A page of toolbelt items.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolbeltItemPage"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}}
              },
              "/api/v1/toolbelt/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {"operationId": "getToolbeltItem", "summary": "Read a toolbelt item", "tags": ["toolbelts"],
                  "responses": {"200": {"description": "The item.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolbeltItem"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}},
                "patch": {"operationId": "updateToolbeltItem", "summary": "Switch a toolbelt item on or off", "tags": ["toolbelts"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolbeltItemUpdate"}}}},
                  "responses": {"200": {"description": "The item.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolbeltItem"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "413": {"$ref": "#/components/responses/TooLarge"}}},
                "delete": {"operationId": "deleteToolbeltItem", "summary": "Take an item off the toolbelt, with its permissions and credentials", "tags": ["toolbelts"],
                  "responses": {"204": {"description": "Deleted."}, "400": {"$ref": "#/components/responses/BadRequest"},
                    "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
                    "404": {"$ref": "#/components/responses/NotFound"}}}
              },
              "/api/v1/toolbelt/{id}/permissions": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {"operationId": "listCapabilityPermissions", "summary": "A toolbelt item's capability permissions", "tags": ["toolbelts"],
                  "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"},
                    {"name": "is_allowed", "in": "query", "required": false, "schema": {"type": "string", "enum": ["true", "false"]}}],
                  "responses": {"200": {"description": "A page of permissions.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CapabilityPermissionPage"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}}
              },
              "/api/v1/toolbelt/{id}/permissions/{capability}": {
                "parameters": [{"$ref": "#/components/parameters/Id"},
                  {"name": "capability", "in": "path", "required": true, "description": "A key of the tool's required_capabilities_schema.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 64}}],
                "put": {"operationId": "setCapabilityPermission", "summary": "Allow or deny one capability of a toolbelt item", "tags": ["toolbelts"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CapabilityPermissionSet"}}}},
                  "responses": {"200": {"description": "Replaced.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CapabilityPermission"}}}},
                    "201": {"description": "Created.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CapabilityPermission"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"$ref": "#/components/responses/Conflict"}, "413": {"$ref": "#/components/responses/TooLarge"},
                    "422": {"$ref": "#/components/responses/Unprocessable"}}},
                "delete": {"operationId": "deleteCapabilityPermission", "summary": "Remove a permission (the capability is then denied)", "tags": ["toolbelts"],
                  "responses": {"204": {"description": "Deleted."}, "400": {"$ref": "#/components/responses/BadRequest"},
                    "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
                    "404": {"$ref": "#/components/responses/NotFound"}}}
              }
            }
            """#,
        schemas: #"""
            {
              "ToolboxAccess": {"type": "object", "required": ["id", "agent_id", "toolbox_id", "granted_at"], "additionalProperties": false,
                "properties": {"id": {"$ref": "#/components/schemas/Id"}, "agent_id": {"$ref": "#/components/schemas/Id"},
                  "toolbox_id": {"$ref": "#/components/schemas/Id"}, "granted_at": {"$ref": "#/components/schemas/Time"}}},
              "ToolboxAccessCreate": {"type": "object", "required": ["toolbox_id"],
                "properties": {"toolbox_id": {"$ref": "#/components/schemas/Id"}}},
              "ToolboxAccessPage": {"allOf": [{"$ref": "#/components/schemas/PageMeta"}, {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/ToolboxAccess"}}}}]},
              "ToolbeltItem": {"type": "object", "required": ["id", "agent_id", "instance_id", "is_active", "created_at", "updated_at"],
                "additionalProperties": false,
                "properties": {"id": {"$ref": "#/components/schemas/Id"}, "agent_id": {"$ref": "#/components/schemas/Id"},
                  "instance_id": {"$ref": "#/components/schemas/Id"}, "is_active": {"type": "boolean"},
                  "created_at": {"$ref": "#/components/schemas/Time"}, "updated_at": {"$ref": "#/components/schemas/Time"}}},
              "ToolbeltItemCreate": {"type": "object", "required": ["instance_id"],
                "properties": {"instance_id": {"$ref": "#/components/schemas/Id"}, "is_active": {"type": "boolean", "default": true}}},
              "ToolbeltItemUpdate": {"type": "object", "required": ["is_active"], "properties": {"is_active": {"type": "boolean"}}},
              "ToolbeltItemPage": {"allOf": [{"$ref": "#/components/schemas/PageMeta"}, {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/ToolbeltItem"}}}}]},
              "CapabilityPermission": {"type": "object", "required": ["id", "toolbelt_item_id", "capability", "is_allowed", "created_at", "updated_at"],
                "additionalProperties": false,
                "properties": {"id": {"$ref": "#/components/schemas/Id"}, "toolbelt_item_id": {"$ref": "#/components/schemas/Id"},
                  "capability": {"type": "string"}, "is_allowed": {"type": "boolean"},
                  "created_at": {"$ref": "#/components/schemas/Time"}, "updated_at": {"$ref": "#/components/schemas/Time"}}},
              "CapabilityPermissionSet": {"type": "object", "required": ["is_allowed"], "properties": {"is_allowed": {"type": "boolean"}}},
              "CapabilityPermissionPage": {"allOf": [{"$ref": "#/components/schemas/PageMeta"}, {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/CapabilityPermission"}}}}]}
            }
            """#)
}

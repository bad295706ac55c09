import Hummingbird
import Services
import Storage

/// Tool instances: `/api/v1/toolboxes/{id}/instances` and `/api/v1/instances/{id}`.
enum InstanceRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            Endpoint(.post, "/api/v1/toolboxes/{id}/instances") { call in
                let body = try await call.body(InstanceBody.self)
                guard let toolID = body.toolID else { throw ServiceError(.invalidRequest, "the body is missing the field tool_id") }
                guard let name = body.name else { throw ServiceError(.invalidRequest, "the body is missing the field name") }
                let instance = try await plane.instances.create(
                    toolboxID: try call.id(), toolID: toolID, name: name, config: body.config ?? nil, by: try call.caller)
                return try JSONResponse.encode(InstanceView(instance), status: .created)
            },
            Endpoint(.get, "/api/v1/toolboxes/{id}/instances") { call in
                let page = try call.page()
                let instances = try await plane.instances.list(
                    toolboxID: try call.id(), status: try QueryFilter.value(call, "status", InstanceStatus.self), toolID: try call.queryID("tool_id"),
                    name: call.query("name"), page: page, by: try call.caller)
                let disabled = try await plane.instances.disabledTools(among: instances.items)
                return try JSONResponse.encode(PageView(instances, page) { InstanceView($0, catalogDisabled: disabled.contains($0.toolCatalogID)) })
            },
            Endpoint(.get, "/api/v1/instances/{id}") { call in
                try await view(try await plane.instances.get(try call.id(), by: try call.caller), plane)
            },
            Endpoint(.post, "/api/v1/instances/{id}/upgrade") { call in
                try await view(try await plane.instances.upgrade(try call.id(), by: try call.caller), plane)
            },
            Endpoint(.get, "/api/v1/instances/{id}/events") { call in
                let after = try call.query("after").map { text in
                    guard let id = Int64(text), id >= 0 else { throw ServiceError(.invalidRequest, "query parameter after must be an event id (0 or more)") }
                    return id
                }
                let page = try call.page()
                let events = try await plane.instances.events(try call.id(), after: after, limit: page.limit, by: try call.caller)
                return try JSONResponse.encode(ItemsView(items: events.map(InstanceEventView.init)))
            },
            Endpoint(.patch, "/api/v1/instances/{id}") { call in
                let body = try await call.body(InstanceBody.self)
                let instance = try await plane.instances.update(
                    try call.id(), InstanceService.Changes(name: body.name, config: body.config), by: try call.caller)
                return try JSONResponse.encode(InstanceView(instance))
            },
            Endpoint(.delete, "/api/v1/instances/{id}") { call in
                switch try await plane.instances.delete(try call.id(), by: try call.caller) {
                case .removed: return Response(status: .noContent)
                case .pending(let instance): return try JSONResponse.encode(InstanceView(instance), status: .accepted)
                }
            },
        ]
            + InstanceStatusMachine.Request.allCases.map { request in
                Endpoint(.post, "/api/v1/instances/{id}/\(request.rawValue)") { call in
                    try await view(try await plane.instances.request(request, try call.id(), by: try call.caller), plane)
                }
            }
    }

    /// An instance as the API shows it, flagged when its catalog tool is disabled.
    private static func view(_ instance: AccountToolInstance, _ plane: ControlPlane) async throws -> Response {
        let disabled = try await plane.instances.disabledTools(among: [instance])
        return try JSONResponse.encode(InstanceView(instance, catalogDisabled: !disabled.isEmpty))
    }
}

extension InstanceRoutes {
    /// The path item of a start, stop or restart route.
    private static func requestPath(_ request: String, _ summary: String) -> String {
        #"""
        "/api/v1/instances/{id}/\#(request)": {
          "parameters": [{"$ref": "#/components/parameters/Id"}],
          "post": {"operationId": "\#(request)Instance", "summary": "\#(summary)", "tags": ["instances"],
            "responses": {"200": {"description": "The instance.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Instance"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
              "409": {"$ref": "#/components/responses/Conflict"}}}
        }
        """#
    }

    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/toolboxes/{id}/instances": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "post": {"operationId": "createInstance", "summary": "Deploy a catalog tool to a toolbox (recorded as pending_deploy)", "tags": ["instances"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InstanceCreate"}}}},
                  "responses": {"201": {"description": "Created.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Instance"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"$ref": "#/components/responses/Conflict"}, "413": {"$ref": "#/components/responses/TooLarge"},
                    "422": {"$ref": "#/components/responses/Unprocessable"}}},
                "get": {"operationId": "listInstances", "summary": "List the instances on a toolbox, by name", "tags": ["instances"],
                  "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"},
                    {"name": "status", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/InstanceStatus"}},
                    {"name": "tool_id", "in": "query", "required": false, "schema": {"type": "string", "format": "uuid"}},
                    {"name": "name", "in": "query", "required": false, "schema": {"type": "string"}}],
                  "responses": {"200": {"description": "A page of instances.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InstancePage"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}}
              },
              "/api/v1/instances/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {"operationId": "getInstance", "summary": "Read a tool instance", "tags": ["instances"],
                  "responses": {"200": {"description": "The instance.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Instance"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}},
                "patch": {"operationId": "updateInstance", "summary": "Rename an instance or change its config (null removes the overrides)", "tags": ["instances"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InstanceUpdate"}}}},
                  "responses": {"200": {"description": "The instance.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Instance"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"$ref": "#/components/responses/Conflict"}, "413": {"$ref": "#/components/responses/TooLarge"},
                    "422": {"$ref": "#/components/responses/Unprocessable"}}},
                "delete": {"operationId": "deleteInstance", "summary": "Delete an instance with its toolbelt items, permissions and credentials", "tags": ["instances"],
                  "responses": {"204": {"description": "Removed (it had no container)."},
                    "202": {"description": "Marked pending_delete; its toolbox removes the container, then the row.",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Instance"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"$ref": "#/components/responses/Conflict"}}}
              },
              "/api/v1/instances/{id}/events": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {"operationId": "listInstanceEvents", "summary": "What the toolbox did to the instance's container (pulls with progress, starts, crashes, upgrades), oldest first", "tags": ["instances"],
                  "parameters": [{"$ref": "#/components/parameters/Limit"},
                    {"name": "after", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0}, "description": "Only events with a larger id."}],
                  "responses": {"200": {"description": "The newest events (at most limit).", "content": {"application/json": {"schema": {"type": "object", "required": ["items"],
                      "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/InstanceEvent"}}}}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}}
              },
              \#(requestPath("upgrade", "Move the instance to its catalog tool's current version; a running one returns to its old version if the new one does not become healthy")),
              \#(requestPath("start", "Start a stopped instance, or retry a failed deployment")),
              \#(requestPath("stop", "Stop a running instance")),
              \#(requestPath("restart", "Restart a running instance (or start a stopped one)"))
            }
            """#,
        schemas: #"""
            {
              "Instance": {"type": "object", "additionalProperties": false,
                "required": ["id", "toolbox_id", "tool_id", "name", "status", "version", "catalog_disabled", "created_at", "updated_at"],
                "properties": {"id": {"$ref": "#/components/schemas/Id"}, "toolbox_id": {"$ref": "#/components/schemas/Id"},
                  "tool_id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"},
                  "status": {"$ref": "#/components/schemas/InstanceStatus"}, "status_detail": {"type": "string"}, "version": {"type": "string"},
                  "image": {"type": "string"}, "previous_version": {"type": "string", "description": "While an upgrade is under way: the version it returns to if the new one fails."},
                  "catalog_disabled": {"type": "boolean", "description": "The catalog tool was disabled since: the instance keeps running but takes no upgrades."},
                  "port_mapping": {"type": "object", "description": "The tool's container port and the host port leased to the instance.",
                    "properties": {"container_port": {"type": "integer", "minimum": 1, "maximum": 65535},
                      "host_port": {"type": "integer", "minimum": 1, "maximum": 65535}}},
                  "config": {"type": "object", "description": "Config overrides, valid against the tool's config schema."},
                  "last_heartbeat_from_dtma": {"$ref": "#/components/schemas/Time"},
                  "created_at": {"$ref": "#/components/schemas/Time"}, "updated_at": {"$ref": "#/components/schemas/Time"}}},
              "InstanceEvent": {"type": "object", "additionalProperties": false, "required": ["id", "at", "kind", "message"],
                "properties": {"id": {"type": "integer"}, "at": {"$ref": "#/components/schemas/Time"},
                  "kind": {"type": "string", "description": "pull, created, started, stopped, removed, crashed, restart, upgrade, rollback or error"},
                  "message": {"type": "string"}}},
              "InstanceStatus": {"type": "string", "enum": ["pending_deploy", "deploying", "running", "stopped", "error", "pending_delete", "deleting"]},
              "InstanceName": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,62}$"},
              "InstanceCreate": {"type": "object", "required": ["tool_id", "name"],
                "properties": {"tool_id": {"$ref": "#/components/schemas/Id"}, "name": {"$ref": "#/components/schemas/InstanceName"},
                  "config": {"type": ["object", "null"], "description": "Config overrides, checked against the tool's config schema."}}},
              "InstanceUpdate": {"type": "object",
                "properties": {"name": {"$ref": "#/components/schemas/InstanceName"},
                  "config": {"type": ["object", "null"], "description": "New config overrides; null removes them."}}},
              "InstancePage": {"allOf": [{"$ref": "#/components/schemas/PageMeta"}, {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Instance"}}}}]}
            }
            """#)
}

import Hummingbird
import Services
import Storage

/// `/api/v1/toolboxes`: the caller's toolboxes (all for admins).
enum ToolboxRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            Endpoint(.post, "/api/v1/toolboxes") { call in
                let body = try await call.body(ToolboxBody.self)
                guard let name = body.name else { throw ServiceError(.invalidRequest, "the body is missing the field name") }
                let toolbox = try await plane.toolboxes.create(
                    name: name, provider: body.provider ?? ToolboxProvider.local.rawValue, region: body.region, size: body.size, by: try call.caller)
                return try JSONResponse.encode(ToolboxView(toolbox), status: .created)
            },
            Endpoint(.get, "/api/v1/toolboxes") { call in
                let page = try call.page()
                let toolboxes = try await plane.toolboxes.list(
                    userID: try call.queryID("user_id"), status: try QueryFilter.value(call, "status", ToolboxStatus.self),
                    provider: try QueryFilter.value(call, "provider", ToolboxProvider.self), name: call.query("name"), page: page,
                    by: try call.caller)
                return try JSONResponse.encode(PageView(toolboxes, page, ToolboxView.init))
            },
            Endpoint(.get, "/api/v1/toolboxes/{id}") { call in
                try JSONResponse.encode(ToolboxView(try await plane.toolboxes.get(try call.id(), by: try call.caller)))
            },
            Endpoint(.patch, "/api/v1/toolboxes/{id}") { call in
                let body = try await call.body(ToolboxBody.self)
                let toolbox = try await plane.toolboxes.update(try call.id(), ToolboxService.Changes(name: body.name), by: try call.caller)
                return try JSONResponse.encode(ToolboxView(toolbox))
            },
            Endpoint(.post, "/api/v1/toolboxes/{id}/resize") { call in
                let body = try await call.body(ResizeBody.self)
                return try JSONResponse.encode(ToolboxView(try await plane.toolboxes.resize(try call.id(), to: body.size, by: try call.caller)))
            },
            Endpoint(.post, "/api/v1/toolboxes/{id}/reenroll") { call in
                let id = try call.id()
                let (script, expires) = try await plane.provisioning.reenrollment(id, by: try call.caller)
                return try JSONResponse.encode(ReenrollmentView(toolboxID: id.uuidString.lowercased(), expiresAt: expires.text, script: script))
            },
            Endpoint(.delete, "/api/v1/toolboxes/{id}") { call in
                let cascade = try QueryFilter.bool(call, "cascade") ?? false
                let toolbox = try await plane.toolboxes.deprovision(try call.id(), cascade: cascade, by: try call.caller)
                return try JSONResponse.encode(ToolboxView(toolbox))
            },
        ]
    }
}

extension ToolboxRoutes {
    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/toolboxes": {
                "post": {"operationId": "createToolbox", "summary": "Create a toolbox owned by the caller: local (the appliance's Docker engine), or digitalocean (a droplet provisioned in the background)", "tags": ["toolboxes"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolboxCreate"}}}},
                  "responses": {"201": {"description": "Created.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Toolbox"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "413": {"$ref": "#/components/responses/TooLarge"},
                    "422": {"$ref": "#/components/responses/Unprocessable"}, "503": {"$ref": "#/components/responses/Unavailable"}}},
                "get": {"operationId": "listToolboxes", "summary": "List the caller's toolboxes (all for admins), oldest first", "tags": ["toolboxes"],
                  "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"},
                    {"name": "user_id", "in": "query", "required": false, "schema": {"type": "string", "format": "uuid"}},
                    {"name": "status", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/ToolboxStatus"}},
                    {"name": "provider", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/ToolboxProvider"}},
                    {"name": "name", "in": "query", "required": false, "schema": {"type": "string"}}],
                  "responses": {"200": {"description": "A page of toolboxes.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolboxPage"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}}}
              },
              "/api/v1/toolboxes/{id}/resize": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "post": {"operationId": "resizeToolbox", "summary": "Resize a DigitalOcean toolbox's droplet (power off, resize, power on; current_operation resizing)", "tags": ["toolboxes"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["size"],
                    "properties": {"size": {"type": "string", "description": "A droplet size offered in the toolbox's region, e.g. s-2vcpu-4gb."}}}}}},
                  "responses": {"200": {"description": "The resize is under way.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Toolbox"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"$ref": "#/components/responses/Conflict"}, "413": {"$ref": "#/components/responses/TooLarge"},
                    "422": {"$ref": "#/components/responses/Unprocessable"}, "503": {"$ref": "#/components/responses/Unavailable"}}}
              },
              "/api/v1/toolboxes/{id}/reenroll": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "post": {"operationId": "reenrollToolbox", "summary": "A shell script, shown once, that enrolls agentbox's agent on an active DigitalOcean toolbox's running droplet (e.g. one imported from the hosted stack); it carries a new single-use enrollment token", "tags": ["toolboxes"],
                  "responses": {"200": {"description": "The script to run once as root on the droplet.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Reenrollment"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"$ref": "#/components/responses/Conflict"}, "503": {"$ref": "#/components/responses/Unavailable"}}}
              },
              "/api/v1/toolboxes/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {"operationId": "getToolbox", "summary": "Read a toolbox (archived ones too)", "tags": ["toolboxes"],
                  "responses": {"200": {"description": "The toolbox.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Toolbox"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}},
                "patch": {"operationId": "updateToolbox", "summary": "Rename a toolbox", "tags": ["toolboxes"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ToolboxUpdate"}}}},
                  "responses": {"200": {"description": "The toolbox.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Toolbox"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "413": {"$ref": "#/components/responses/TooLarge"}}},
                "delete": {"operationId": "deprovisionToolbox", "summary": "Deprovision a toolbox: refused while it has instances unless cascade=true, which deletes them; the toolbox stays, archived", "tags": ["toolboxes"],
                  "parameters": [{"name": "cascade", "in": "query", "required": false, "schema": {"type": "boolean", "default": false}}],
                  "responses": {"200": {"description": "The toolbox: archived, or deprovisioning until its DTMA has removed the containers of its instances.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Toolbox"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"$ref": "#/components/responses/Conflict"}}}
              }
            }
            """#,
        schemas: #"""
            {
              "Toolbox": {"type": "object", "additionalProperties": false,
                "required": ["id", "user_id", "name", "provider", "status", "reachability", "created_at", "updated_at"],
                "properties": {"id": {"$ref": "#/components/schemas/Id"}, "user_id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"},
                  "provider": {"$ref": "#/components/schemas/ToolboxProvider"}, "status": {"$ref": "#/components/schemas/ToolboxStatus"},
                  "status_detail": {"type": "string"}, "current_operation": {"type": "string"},
                  "reachability": {"type": "string", "enum": ["unknown", "reachable", "unreachable"]},
                  "region": {"type": "string"}, "size_slug": {"type": "string"}, "droplet_id": {"type": "integer"}, "public_ip_address": {"type": "string"},
                  "agent_version": {"type": "string", "description": "The agentbox version its DTMA runs, from its last heartbeat."},
                  "last_heartbeat_at": {"$ref": "#/components/schemas/Time"},
                  "created_at": {"$ref": "#/components/schemas/Time"}, "updated_at": {"$ref": "#/components/schemas/Time"}}},
              "Reenrollment": {"type": "object", "additionalProperties": false, "required": ["toolbox_id", "expires_at", "script"],
                "properties": {"toolbox_id": {"$ref": "#/components/schemas/Id"}, "expires_at": {"$ref": "#/components/schemas/Time"},
                  "script": {"type": "string", "description": "A POSIX shell script; its enrollment token serves once, until expires_at."}}},
              "ToolboxStatus": {"type": "string", "enum": ["pending_provision", "provisioning", "active", "error", "pending_deprovision", "deprovisioning", "archived"]},
              "ToolboxProvider": {"type": "string", "enum": ["local", "digitalocean"]},
              "ToolboxCreate": {"type": "object", "required": ["name"],
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
                  "provider": {"type": "string", "enum": ["local", "digitalocean"], "default": "local",
                    "description": "local: the appliance's Docker engine. digitalocean: a droplet (needs region and size, and a DigitalOcean token set by an admin)."},
                  "region": {"type": "string", "description": "digitalocean: a region slug DigitalOcean offers now, e.g. nyc3."},
                  "size": {"type": "string", "description": "digitalocean: a droplet size offered in that region, e.g. s-1vcpu-1gb."}}},
              "ToolboxUpdate": {"type": "object", "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}}},
              "ToolboxPage": {"allOf": [{"$ref": "#/components/schemas/PageMeta"}, {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Toolbox"}}}}]}
            }
            """#)
}

import Hummingbird
import JSONSchema
import Services

/// `/api/v1/catalog`: the tool catalog (admins write; everyone reads enabled entries).
enum CatalogRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            Endpoint(.post, "/api/v1/catalog") { call in
                let body = try await call.body(CatalogEntryBody.self)
                let entry = try await plane.catalog.create(try body.definition(), by: try call.caller)
                return try JSONResponse.encode(CatalogEntryView(entry), status: .created)
            },
            Endpoint(.get, "/api/v1/catalog") { call in
                let page = try call.page()
                let entries = try await plane.catalog.list(
                    enabled: try QueryFilter.bool(call, "enabled"), name: call.query("name"), page: page, by: try call.caller)
                return try JSONResponse.encode(PageView(entries, page, CatalogEntryView.init))
            },
            Endpoint(.get, "/api/v1/catalog/{id}") { call in
                try JSONResponse.encode(CatalogEntryView(try await plane.catalog.get(try call.id(), by: try call.caller)))
            },
            Endpoint(.patch, "/api/v1/catalog/{id}") { call in
                let body = try await call.body(CatalogEntryBody.self)
                return try JSONResponse.encode(CatalogEntryView(try await plane.catalog.update(try call.id(), body.changes, by: try call.caller)))
            },
            Endpoint(.delete, "/api/v1/catalog/{id}") { call in
                try await plane.catalog.delete(try call.id(), by: try call.caller)
                return Response(status: .noContent)
            },
        ]
    }
}

/// Typed query parameters of list and delete routes, each refused with a message naming it.
enum QueryFilter {
    /// `true` or `false`, if present.
    static func bool(_ call: Call, _ name: String) throws -> Bool? {
        switch call.query(name) {
        case nil: return nil
        case "true": return true
        case "false": return false
        default: throw ServiceError(.invalidRequest, "query parameter \(name) must be true or false")
        }
    }

    /// One of an enumeration's values, if present.
    static func value<Value: RawRepresentable & CaseIterable>(_ call: Call, _ name: String, _ type: Value.Type) throws -> Value?
    where Value.RawValue == String {
        guard let text = call.query(name) else { return nil }
        guard let value = Value(rawValue: text) else {
            throw ServiceError(.invalidRequest, "query parameter \(name) must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}

extension CatalogRoutes {
    /// The keywords a catalog schema may use, as a JSON array.
    private static var supportedKeywords: String {
        "[" + JSONSchema.supportedKeywords.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
    }

    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/catalog": {
                "post": {"operationId": "createCatalogEntry", "summary": "Add a tool to the catalog (admins)", "tags": ["catalog"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CatalogEntryCreate"}}}},
                  "responses": {"201": {"description": "Created.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CatalogEntry"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "409": {"$ref": "#/components/responses/Conflict"},
                    "413": {"$ref": "#/components/responses/TooLarge"}, "422": {"$ref": "#/components/responses/Unprocessable"}}},
                "get": {"operationId": "listCatalogEntries", "summary": "List enabled catalog tools (all for admins, who may filter on enabled)", "tags": ["catalog"],
                  "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"},
                    {"name": "name", "in": "query", "required": false, "schema": {"type": "string"}, "description": "Exact name, any case."},
                    {"name": "enabled", "in": "query", "required": false, "schema": {"type": "boolean"}}],
                  "responses": {"200": {"description": "A page of catalog tools, by name.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CatalogEntryPage"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}}}
              },
              "/api/v1/catalog/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {"operationId": "getCatalogEntry", "summary": "Read a catalog tool (disabled ones for admins only)", "tags": ["catalog"],
                  "responses": {"200": {"description": "The catalog tool.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CatalogEntry"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}},
                "patch": {"operationId": "updateCatalogEntry", "summary": "Change a catalog tool (admins); null clears description, memory_limit_mb, cpu_limit", "tags": ["catalog"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CatalogEntryUpdate"}}}},
                  "responses": {"200": {"description": "The catalog tool.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CatalogEntry"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"$ref": "#/components/responses/Conflict"}, "413": {"$ref": "#/components/responses/TooLarge"},
                    "422": {"$ref": "#/components/responses/Unprocessable"}}},
                "delete": {"operationId": "deleteCatalogEntry", "summary": "Remove a catalog tool that no instance uses (admins)", "tags": ["catalog"],
                  "responses": {"204": {"description": "Deleted."}, "400": {"$ref": "#/components/responses/BadRequest"},
                    "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
                    "404": {"$ref": "#/components/responses/NotFound"}, "409": {"$ref": "#/components/responses/Conflict"}}}
              }
            }
            """#,
        schemas: #"""
            {
              "CatalogEntry": {"type": "object", "additionalProperties": false,
                "required": ["id", "name", "docker_image_url", "version", "container_port", "protocol", "execute_timeout_ms", "is_enabled",
                  "default_config_json_schema", "required_capabilities_schema", "required_secrets_schema", "created_at", "updated_at"],
                "properties": {"id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"}, "description": {"type": "string"},
                  "docker_image_url": {"type": "string"}, "version": {"type": "string"},
                  "container_port": {"type": "integer", "minimum": 1, "maximum": 65535}, "protocol": {"$ref": "#/components/schemas/ToolProtocol"},
                  "memory_limit_mb": {"type": "integer"}, "cpu_limit": {"type": "number"}, "execute_timeout_ms": {"type": "integer"},
                  "is_enabled": {"type": "boolean"},
                  "default_config_json_schema": {"type": "object", "description": "A JSON Schema for the config of the tool's instances."},
                  "required_capabilities_schema": {"type": "object", "description": "Capability name to description, or to {description, input_schema}."},
                  "required_secrets_schema": {"type": "object", "description": "A JSON Schema for the credentials the tool needs."},
                  "created_at": {"$ref": "#/components/schemas/Time"}, "updated_at": {"$ref": "#/components/schemas/Time"}}},
              "ToolProtocol": {"type": "string", "enum": ["agentbox-v1", "mcp"]},
              "SupportedJSONSchema": {"type": "object",
                "description": "A JSON Schema using only the keywords agentbox enforces (others are refused with 422, naming them).",
                "propertyNames": {"enum": \#(supportedKeywords)}},
              "ImageReference": {"type": "string", "minLength": 1, "maxLength": 512,
                "description": "[registry[:port]/]name[:tag][@sha256:digest], the name lowercase, e.g. ghcr.io/acme/gmail:1.2.0",
                "pattern": "\#(ImageReference.pattern)"},
              "CapabilityMap": {"type": "object", "minProperties": 1,
                "description": "Capability name (a-z first, then a-z, 0-9, '_', '.', '-'; at most 64) to a description, or to {description, input_schema}.",
                "propertyNames": {"pattern": "^[a-z][a-z0-9_.-]{0,63}$"},
                "additionalProperties": {"oneOf": [{"type": "string"},
                  {"type": "object", "required": ["description"], "additionalProperties": false,
                    "properties": {"description": {"type": "string"}, "input_schema": {"type": ["object", "boolean"]}}}]}},
              "CatalogEntryCreate": {"type": "object", "required": ["name", "docker_image_url", "version", "container_port", "required_capabilities_schema"],
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
                  "description": {"type": ["string", "null"], "maxLength": 2000},
                  "docker_image_url": {"$ref": "#/components/schemas/ImageReference"},
                  "version": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$"},
                  "container_port": {"type": "integer", "minimum": 1, "maximum": 65535},
                  "protocol": {"$ref": "#/components/schemas/ToolProtocol"},
                  "memory_limit_mb": {"type": ["integer", "null"], "minimum": \#(CatalogService.Limits.memoryLimitMB.lowerBound), "maximum": \#(CatalogService.Limits.memoryLimitMB.upperBound)},
                  "cpu_limit": {"type": ["number", "null"], "minimum": \#(CatalogService.Limits.cpuLimit.lowerBound), "maximum": \#(CatalogService.Limits.cpuLimit.upperBound)},
                  "execute_timeout_ms": {"type": "integer", "minimum": \#(CatalogService.Limits.executeTimeoutMS.lowerBound), "maximum": \#(CatalogService.Limits.executeTimeoutMS.upperBound), "default": 30000},
                  "is_enabled": {"type": "boolean", "default": true},
                  "default_config_json_schema": {"$ref": "#/components/schemas/SupportedJSONSchema", "default": {}},
                  "required_capabilities_schema": {"$ref": "#/components/schemas/CapabilityMap"},
                  "required_secrets_schema": {"$ref": "#/components/schemas/SupportedJSONSchema", "default": {}}}},
              "CatalogEntryUpdate": {"type": "object",
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
                  "description": {"type": ["string", "null"], "maxLength": 2000},
                  "docker_image_url": {"$ref": "#/components/schemas/ImageReference"},
                  "version": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$"},
                  "container_port": {"type": "integer", "minimum": 1, "maximum": 65535},
                  "protocol": {"$ref": "#/components/schemas/ToolProtocol"},
                  "memory_limit_mb": {"type": ["integer", "null"], "minimum": \#(CatalogService.Limits.memoryLimitMB.lowerBound), "maximum": \#(CatalogService.Limits.memoryLimitMB.upperBound)},
                  "cpu_limit": {"type": ["number", "null"], "minimum": \#(CatalogService.Limits.cpuLimit.lowerBound), "maximum": \#(CatalogService.Limits.cpuLimit.upperBound)},
                  "execute_timeout_ms": {"type": "integer", "minimum": \#(CatalogService.Limits.executeTimeoutMS.lowerBound), "maximum": \#(CatalogService.Limits.executeTimeoutMS.upperBound)},
                  "is_enabled": {"type": "boolean"},
                  "default_config_json_schema": {"$ref": "#/components/schemas/SupportedJSONSchema"},
                  "required_capabilities_schema": {"$ref": "#/components/schemas/CapabilityMap"},
                  "required_secrets_schema": {"$ref": "#/components/schemas/SupportedJSONSchema"}}},
              "CatalogEntryPage": {"allOf": [{"$ref": "#/components/schemas/PageMeta"}, {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/CatalogEntry"}}}}]}
            }
            """#)
}

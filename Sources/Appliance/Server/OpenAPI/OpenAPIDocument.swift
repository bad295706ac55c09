import Foundation

/// The OpenAPI 3.1 description of the API, served at `/api/v1/openapi.json`.
enum OpenAPIDocument {
    /// Shared pieces every fragment may reference: errors, pages, parameters, security.
    static let common = OpenAPIFragment(
        paths: "{}",
        schemas: #"""
            {
              "Error": {
                "type": "object", "required": ["error"], "additionalProperties": false,
                "properties": {"error": {"type": "object", "required": ["code", "message", "request_id"], "additionalProperties": false,
                  "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "request_id": {"type": "string"}}}}
              },
              "PageMeta": {
                "type": "object", "required": ["total", "limit", "offset"],
                "properties": {"total": {"type": "integer", "minimum": 0}, "limit": {"type": "integer", "minimum": 1, "maximum": 200},
                  "offset": {"type": "integer", "minimum": 0}}
              },
              "Id": {"type": "string", "format": "uuid"},
              "Time": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"}
            }
            """#)

    /// The parameters and responses routes share.
    static let components = #"""
        {
          "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "An agentbox token (abx_u_..., abx_a_..., abx_t_...)."}},
          "parameters": {
            "Id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
            "Limit": {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
            "Offset": {"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "maximum": 2147483647, "default": 0}}
          },
          "responses": {
            "BadRequest": {"description": "Malformed request.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "Unavailable": {"description": "Something the request needs (e.g. the Docker engine) does not answer; the message says how to fix it.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "Unauthorized": {"description": "No token, or a bad one.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "Forbidden": {"description": "Not allowed for this caller.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "NotFound": {"description": "Absent, or not the caller's.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "Conflict": {"description": "Clashes with existing rows or state.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "Unprocessable": {"description": "Valid JSON that breaks a rule.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "TooLarge": {"description": "Body over 1 MiB.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "TooManyRequests": {"description": "Too many failed token checks from this address; retry after Retry-After seconds.", "headers": {"Retry-After": {"schema": {"type": "integer"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
          }
        }
        """#

    /// Merges the fragments into the whole document, as JSON bytes.
    static func build(_ fragments: [OpenAPIFragment], version: String) throws -> Data {
        var paths: [String: Any] = [:]
        var schemas: [String: Any] = [:]
        for fragment in [common] + fragments {
            try paths.merge(object(fragment.paths), uniquingKeysWith: { _, _ in throw DuplicateEntry() })
            try schemas.merge(object(fragment.schemas), uniquingKeysWith: { _, _ in throw DuplicateEntry() })
        }
        paths = paths.mapValues { addSharedResponses(to: $0) }
        var components = try object(components)
        components["schemas"] = nullableOptionalFields(in: schemas, requestBodies: requestBodySchemas(paths))
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": [
                "title": "agentbox", "version": version,
                "description": "The control plane of agentbox: users, agents, tokens, the tool catalog, toolboxes, tool instances and toolbelts. "
                    + "In a request body, an optional field sent as null is the same as leaving it out.",
            ],
            "servers": [["url": "/"]],
            "security": [["bearer": [String]()]],
            "paths": paths,
            "components": components,
        ]
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// The answers every route may give besides its own: 429 where a token is checked (too many failures from the
    /// caller's address), 503 where something is written (the data directory's disk is full).
    private static func addSharedResponses(to pathItem: Any) -> Any {
        guard var operations = pathItem as? [String: Any] else { return pathItem }
        for (method, operation) in operations {
            guard var operation = operation as? [String: Any], var responses = operation["responses"] as? [String: Any] else { continue }
            if responses["401"] != nil, responses["429"] == nil { responses["429"] = ["$ref": "#/components/responses/TooManyRequests"] }
            if method != "get", responses["503"] == nil { responses["503"] = ["$ref": "#/components/responses/Unavailable"] }
            operation["responses"] = responses
            operations[method] = operation
        }
        return operations
    }

    /// The names of the component schemas that request bodies refer to.
    private static func requestBodySchemas(_ paths: [String: Any]) -> Set<String> {
        var names: Set<String> = []
        for case let operations as [String: Any] in paths.values {
            for case let operation as [String: Any] in operations.values {
                let body = (operation["requestBody"] as? [String: Any])?["content"] as? [String: Any]
                let schema = (body?["application/json"] as? [String: Any])?["schema"] as? [String: Any]
                if let reference = schema?["$ref"] as? String { names.insert(String(reference.split(separator: "/").last ?? "")) }
            }
        }
        return names
    }

    /// The request bodies' optional fields accept null, as the server does (it decodes a null field as an absent one).
    private static func nullableOptionalFields(in schemas: [String: Any], requestBodies: Set<String>) -> [String: Any] {
        var schemas = schemas
        for name in requestBodies {
            guard var schema = schemas[name] as? [String: Any], var properties = schema["properties"] as? [String: Any] else { continue }
            let required = Set(schema["required"] as? [String] ?? [])
            for (field, property) in properties where !required.contains(field) {
                guard var property = property as? [String: Any] else { continue }
                if property["$ref"] != nil {
                    property = ["anyOf": [property, ["type": "null"]]]
                } else {
                    if let type = property["type"] as? String { property["type"] = [type, "null"] }
                    if let values = property["enum"] as? [Any] { property["enum"] = values + [NSNull()] }
                }
                properties[field] = property
            }
            schema["properties"] = properties
            schemas[name] = schema
        }
        return schemas
    }

    private static func object(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { throw NotAnObject() }
        return object
    }

    private struct DuplicateEntry: Error {}
    private struct NotAnObject: Error {}
}

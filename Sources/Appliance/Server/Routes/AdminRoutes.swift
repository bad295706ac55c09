import Hummingbird
import Services

/// The audit log and the vault, through the running server.
enum AdminRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            Endpoint(.get, "/api/v1/audit") { call in
                let page = try call.page()
                return try JSONResponse.encode(PageView(try await plane.auditEntries(page: page, by: try call.caller), page, AuditEntryView.init))
            },
            Endpoint(.post, "/api/v1/admin/vault/rotate") { call in
                try JSONResponse.encode(RotationView(try await plane.rotateVault(by: try call.caller)))
            },
        ]
    }
}

extension AdminRoutes {
    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/audit": {"get": {"operationId": "listAudit", "summary": "Audit records, newest first (all for admins, own for users)", "tags": ["audit"],
                "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"}],
                "responses": {"200": {"description": "A page of records.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AuditPage"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"}}}},
              "/api/v1/admin/vault/rotate": {"post": {"operationId": "rotateVault", "summary": "Rotate the vault's data key (admins)", "tags": ["admin"],
                "responses": {"200": {"description": "What the rotation did.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Rotation"}}}},
                  "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}}}
            }
            """#,
        schemas: #"""
            {
              "AuditEntry": {"type": "object", "required": ["seq", "id", "at", "actor_kind", "action", "outcome", "detail"], "additionalProperties": false,
                "properties": {"seq": {"type": "integer"}, "id": {"$ref": "#/components/schemas/Id"}, "at": {"$ref": "#/components/schemas/Time"},
                  "actor_kind": {"enum": ["system", "user", "agent", "toolbox"]}, "actor_id": {"$ref": "#/components/schemas/Id"},
                  "action": {"type": "string"}, "target_type": {"type": "string"}, "target_id": {"type": "string"},
                  "outcome": {"enum": ["ok", "denied", "error"]}, "detail": {"type": "object", "additionalProperties": {"type": "string"}}}},
              "AuditPage": {"allOf": [{"$ref": "#/components/schemas/PageMeta"}, {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}}}}]},
              "Rotation": {"type": "object", "required": ["new_key_version", "retired_versions", "resealed"], "additionalProperties": false,
                "properties": {"new_key_version": {"type": "integer", "minimum": 1}, "retired_versions": {"type": "array", "items": {"type": "integer"}},
                  "resealed": {"type": "integer", "minimum": 0}}}
            }
            """#)
}

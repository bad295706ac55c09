import Foundation
import Hummingbird
import JSONSchema
import Services
import Storage

/// An agent's credentials for its toolbelt items (`/api/v1/toolbelt/{id}/credentials`, `/api/v1/credentials/{id}`).
///
/// The secret goes in once and never comes back: every answer shows only the credential's id, item, type,
/// masked account identifier, status and times.
enum CredentialRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        let credentials = plane.credentials
        return [
            Endpoint(.post, "/api/v1/toolbelt/{id}/credentials") { call in
                let itemID = try call.id()
                let body = try await call.jsonObject()
                let type = try string(body, "credential_type", required: true)!
                guard let secret = body["credentials"] else { throw ServiceError(.invalidRequest, "the body is missing the field credentials") }
                guard case .object = secret else { throw ServiceError(.invalidRequest, "the field credentials must be a JSON object") }
                let credential = try await credentials.create(
                    itemID: itemID, type: type, credentials: secret, accountIdentifier: try string(body, "account_identifier", required: false),
                    by: try call.caller)
                return try JSONResponse.encode(CredentialView(credential), status: .created)
            },
            Endpoint(.get, "/api/v1/toolbelt/{id}/credentials") { call in
                let page = try call.page()
                let list = try await credentials.list(itemID: try call.id(), status: try status(call.query("status"), field: "query parameter status"), page: page, by: try call.caller)
                return try JSONResponse.encode(PageView(list, page, CredentialView.init))
            },
            Endpoint(.get, "/api/v1/credentials/{id}") { call in
                try JSONResponse.encode(CredentialView(try await credentials.get(try call.id(), by: try call.caller)))
            },
            Endpoint(.patch, "/api/v1/credentials/{id}") { call in
                let id = try call.id()
                let body = try await call.body(CredentialStatusBody.self)
                guard let target = try status(body.status, field: "status") else { throw ServiceError(.invalidRequest, "the body is missing the field status") }
                return try JSONResponse.encode(CredentialView(try await credentials.setStatus(id, target, by: try call.caller)))
            },
            Endpoint(.delete, "/api/v1/credentials/{id}") { call in
                try await credentials.delete(try call.id(), by: try call.caller)
                return Response(status: .noContent)
            },
        ]
    }

    /// A credential status named in a request; nil when absent.
    private static func status(_ text: String?, field: String) throws -> CredentialStatus? {
        guard let text else { return nil }
        guard let status = CredentialStatus(rawValue: text) else {
            throw ServiceError(.invalidRequest, "\(field) must be one of \(CredentialStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return status
    }

    /// A string field of a parsed body; a wrong type is a 400 that names the field (never its value).
    private static func string(_ body: [String: JSONValue], _ field: String, required: Bool) throws -> String? {
        switch body[field] {
        case .string(let text)?: return text
        case nil, .null?:
            if required { throw ServiceError(.invalidRequest, "the body is missing the field \(field)") }
            return nil
        default: throw ServiceError(.invalidRequest, "the field \(field) must be a string")
        }
    }
}

extension CredentialRoutes {
    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/toolbelt/{id}/credentials": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "post": {"operationId": "createCredential",
                  "summary": "Store an agent's credentials for a toolbelt item (checked against the tool's secrets schema, sealed; revokes the item's earlier credentials)",
                  "tags": ["credentials"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CredentialCreate"}}}},
                  "responses": {"201": {"description": "Stored; the secret is never shown again.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Credential"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"$ref": "#/components/responses/Conflict"}, "413": {"$ref": "#/components/responses/TooLarge"},
                    "422": {"$ref": "#/components/responses/Unprocessable"}}},
                "get": {"operationId": "listCredentials", "summary": "A toolbelt item's credentials (never their secrets)", "tags": ["credentials"],
                  "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"},
                    {"name": "status", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/CredentialStatus"}}],
                  "responses": {"200": {"description": "A page of credentials.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CredentialPage"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}}
              },
              "/api/v1/credentials/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {"operationId": "getCredential", "summary": "Read a credential (never its secret)", "tags": ["credentials"],
                  "responses": {"200": {"description": "The credential.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Credential"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}}},
                "patch": {"operationId": "updateCredentialStatus",
                  "summary": "Change a credential's status: active <-> requires_reauth, active|requires_reauth -> error -> active, any -> revoked (final)",
                  "tags": ["credentials"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CredentialUpdate"}}}},
                  "responses": {"200": {"description": "The credential.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Credential"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"$ref": "#/components/responses/Conflict"}, "413": {"$ref": "#/components/responses/TooLarge"}}},
                "delete": {"operationId": "deleteCredential", "summary": "Delete a credential and its sealed secret", "tags": ["credentials"],
                  "responses": {"204": {"description": "Deleted."}, "400": {"$ref": "#/components/responses/BadRequest"},
                    "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
                    "404": {"$ref": "#/components/responses/NotFound"}}}
              }
            }
            """#,
        schemas: #"""
            {
              "CredentialStatus": {"type": "string", "enum": ["active", "revoked", "requires_reauth", "error"]},
              "Credential": {"type": "object", "required": ["id", "toolbelt_item_id", "credential_type", "status", "created_at", "updated_at"],
                "additionalProperties": false,
                "properties": {"id": {"$ref": "#/components/schemas/Id"}, "toolbelt_item_id": {"$ref": "#/components/schemas/Id"},
                  "credential_type": {"type": "string"},
                  "account_identifier": {"type": "string", "description": "Masked, e.g. user@gm***.com."},
                  "status": {"$ref": "#/components/schemas/CredentialStatus"}, "last_validated_at": {"$ref": "#/components/schemas/Time"},
                  "created_at": {"$ref": "#/components/schemas/Time"}, "updated_at": {"$ref": "#/components/schemas/Time"}}},
              "CredentialCreate": {"type": "object", "required": ["credential_type", "credentials"],
                "properties": {"credential_type": {"type": "string", "pattern": "^[a-z][a-z0-9_.-]{0,63}$"},
                  "credentials": {"type": "object", "description": "The secret, checked against the tool's required_secrets_schema; write-only."},
                  "account_identifier": {"type": "string", "maxLength": 254, "description": "Stored and shown masked."}}},
              "CredentialUpdate": {"type": "object", "required": ["status"], "properties": {"status": {"$ref": "#/components/schemas/CredentialStatus"}}},
              "CredentialPage": {"allOf": [{"$ref": "#/components/schemas/PageMeta"}, {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Credential"}}}}]}
            }
            """#)
}

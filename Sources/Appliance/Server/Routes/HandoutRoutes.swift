import Hummingbird
import JSONSchema
import Metrics
import Services

/// The DTMAs' routes: enrollment (`POST /api/v1/dtma/enroll`) and the credential hand-out (`POST /api/v1/dtma/credentials`, a toolbox token and a call ticket).
enum HandoutRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            // The enrollment token is the bearer token here, so the route checks it itself.
            Endpoint(.post, "/api/v1/dtma/enroll", .anyone) { call in
                guard let header = call.request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
                    throw ServiceError(.unauthenticated, "send the enrollment token: Authorization: Bearer <token>")
                }
                let (toolbox, issued) = try await plane.enrollment.enroll(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
                return try JSONResponse.encode(EnrollmentView(toolboxID: toolbox.id.text, token: issued.token))
            },
            Endpoint(.post, "/api/v1/dtma/credentials") { call in
                let body = try await call.body(HandoutBody.self)
                let grant: CredentialHandout.Grant
                do {
                    grant = try await plane.handouts.redeem(body.ticket, by: try call.caller)
                } catch let error as ServiceError where error.reason != nil {
                    Counter(label: "agentbox_credential_handouts_total", dimensions: [("outcome", "denied"), ("rule", error.reason ?? "")]).increment()
                    throw error
                }
                Counter(label: "agentbox_credential_handouts_total", dimensions: [("outcome", "ok"), ("rule", "")]).increment()
                let credentials = try grant.secret.withUnsafeBytes { try JSONValue(parsing: Array($0)) }
                return try JSONResponse.encode(HandoutView(grant, credentials: credentials))
            }
        ]
    }

    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/dtma/enroll": {
                "post": {"operationId": "enrollToolbox", "summary": "A droplet's agent trades its single-use enrollment token (Authorization: Bearer) for its toolbox token, shown once", "tags": ["dtma"],
                  "security": [],
                  "responses": {"200": {"description": "The toolbox and its token.", "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
                      "required": ["toolbox_id", "token"], "properties": {"toolbox_id": {"$ref": "#/components/schemas/Id"}, "token": {"type": "string"}}}}}},
                    "401": {"description": "Refused: enrollment_token_invalid, enrollment_token_used, enrollment_token_expired or toolbox_not_enrolling.",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
              },
              "/api/v1/dtma/credentials": {
                "post": {"operationId": "redeemCallTicket", "summary": "A DTMA redeems a call ticket for the calling agent's credentials (toolbox token only; each ticket once, within seconds)", "tags": ["dtma"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["ticket"],
                    "properties": {"ticket": {"type": "string"}}}}}},
                  "responses": {"200": {"description": "The call and the agent's credentials, for that one call.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Handout"}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"description": "Denied; the code names the rule (toolbox_token_required, ticket_invalid, ticket_used, ticket_expired, instance_not_on_toolbox, toolbox_access_denied, toolbelt_item_missing, toolbelt_item_inactive, capability_unknown, capability_denied, credential_missing, credential_revoked, credential_requires_reauth, credential_error).",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "413": {"$ref": "#/components/responses/TooLarge"}}}
              }
            }
            """#,
        schemas: #"""
            {
              "Handout": {"type": "object", "additionalProperties": false,
                "required": ["agent_id", "instance_id", "capability", "request_id", "credential_id", "credential_type", "credentials"],
                "properties": {"agent_id": {"$ref": "#/components/schemas/Id"}, "instance_id": {"$ref": "#/components/schemas/Id"},
                  "capability": {"type": "string"}, "request_id": {"type": "string"}, "credential_id": {"$ref": "#/components/schemas/Id"},
                  "credential_type": {"type": "string"}, "credentials": {"type": "object", "description": "The agent's credentials, for this one call."}}}
            }
            """#)
}

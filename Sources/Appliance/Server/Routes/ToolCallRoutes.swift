import HTTPTypes
import Hummingbird
import JSONSchema
import Metrics
import Services

/// An agent calls a tool: `POST /api/v1/toolbelt/{id}/execute` with its agent token, a capability and an input.
///
/// A tool's answer is relayed with the tool's status and JSON body, marked by the `Agentbox-Answer: tool` header;
/// anything agentbox refuses or the tool fails at comes in agentbox's error shape, with a code naming the rule.
enum ToolCallRoutes: RouteGroup {
    /// Marks an answer that comes from the tool, not from agentbox.
    static let answerHeader = HTTPField.Name("Agentbox-Answer")!

    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            Endpoint(.post, "/api/v1/toolbelt/{id}/execute") { call in
                let itemID = try call.id()
                let body = try await call.jsonObject()
                guard case .string(let capability)? = body["capability"] else {
                    throw ServiceError(.invalidRequest, "the body needs the field capability, a string naming one of the tool's capabilities")
                }
                let input = body["input"] ?? .object([:])
                do {
                    let answer = try await plane.calls.execute(
                        itemID: itemID, capability: capability, input: input, requestID: call.context.id, by: try call.caller)
                    Counter(label: "agentbox_tool_calls_total", dimensions: [("outcome", "answered")]).increment()
                    var headers: HTTPFields = [.contentType: "application/json"]
                    headers[answerHeader] = "tool"
                    return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
                } catch let error as ServiceError {
                    Counter(label: "agentbox_tool_calls_total", dimensions: [("outcome", error.reason ?? error.code.description)]).increment()
                    throw error
                }
            }
        ]
    }

    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/toolbelt/{id}/execute": {
                "post": {"operationId": "executeTool", "summary": "Call a capability of a toolbelt item (agent token only); the tool gets this agent's credentials for this one call", "tags": ["tool calls"],
                  "parameters": [{"$ref": "#/components/parameters/Id"}],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["capability"],
                    "properties": {"capability": {"type": "string"}, "input": {"description": "The capability's input; checked against its input schema when the catalog gives one. Default {}."}}}}}},
                  "responses": {
                    "default": {"description": "The tool's own answer, relayed with its status and marked by the header Agentbox-Answer: tool (docs/tool-contract.md).",
                      "headers": {"Agentbox-Answer": {"schema": {"type": "string", "enum": ["tool"]}}}, "content": {"application/json": {"schema": {}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"description": "Denied; the code names the rule (agent_token_required, toolbox_access_denied, toolbelt_item_inactive, capability_unknown, capability_denied, credential_missing, credential_revoked, credential_requires_reauth, credential_error, ticket_used, ticket_expired...).",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "404": {"$ref": "#/components/responses/NotFound"},
                    "409": {"description": "The instance is not running (instance_not_running).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "413": {"$ref": "#/components/responses/TooLarge"},
                    "422": {"description": "The input does not match the capability's input schema (input_invalid).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "502": {"description": "The tool failed: tool_unreachable, tool_bad_answer, tool_answer_too_large.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "503": {"$ref": "#/components/responses/Unavailable"},
                    "504": {"description": "The tool did not answer within the catalog's execute time-out (tool_timeout).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
              }
            }
            """#,
        schemas: "{}")
}

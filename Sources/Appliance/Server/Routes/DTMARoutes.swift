import Foundation
import Hummingbird
import Metrics
import ServiceLifecycle
import Services
import Storage
import ToolboxProtocol

/// The call-home routes of droplets' DTMAs (`agentbox dtma`), each with the droplet's toolbox token: heartbeats
/// answered with the desired state and the agent release, instance events, and tool calls relayed through a long
/// poll and answered back (see ToolboxProtocol's CallHome.swift for the whole exchange).
enum DTMARoutes: RouteGroup {
    /// The longest a poll for calls may wait.
    static let longestPoll = 30
    /// The largest relayed answer: the tool's 8 MiB limit, base64, and the envelope.
    static let answerLimit = 12 << 20

    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            Endpoint(.post, "/api/v1/dtma/heartbeat") { call in
                let toolbox = try droplet(call)
                let heartbeat = try await call.body(Heartbeat.self, decoder: ToolboxProtocolCoding.decoder())
                guard heartbeat.toolboxID == toolbox.id else {
                    throw ServiceError(.forbidden, "this heartbeat names toolbox \(heartbeat.toolboxID.text), not the token's", reason: "toolbox_mismatch")
                }
                let desired = try await plane.toolboxControl.exchange(heartbeat)
                await plane.relay.heartbeat(from: toolbox.id)
                Counter(label: "agentbox_heartbeats_total", dimensions: [("provider", "digitalocean"), ("docker", heartbeat.health.dockerReachable ? "reachable" : "unreachable")])
                    .increment()
                let answer = HeartbeatAnswer(
                    desired: desired, agentRelease: try await plane.distribution.release(),
                    heartbeatIntervalMS: Int(plane.heartbeatInterval.wholeMilliseconds))
                return try JSONResponse.encode(answer, encoder: ToolboxProtocolCoding.encoder())
            },
            Endpoint(.post, "/api/v1/dtma/events") { call in
                let toolbox = try droplet(call)
                let batch = try await call.body(EventBatch.self, decoder: ToolboxProtocolCoding.decoder())
                let events = batch.events.map { InstanceEvent(accountToolInstanceID: $0.instanceID, kind: $0.kind, message: $0.message) }
                try await plane.toolboxControl.record(events, from: toolbox.id)
                return Response(status: .noContent)
            },
            Endpoint(.get, "/api/v1/dtma/calls") { call in
                let toolbox = try droplet(call)
                let text = call.query("wait") ?? "25"
                guard let wait = Int(text), (0...longestPoll).contains(wait) else {
                    throw ServiceError(.invalidRequest, "query parameter wait must be a whole number of seconds from 0 to \(longestPoll)")
                }
                // A server told to stop ends the poll at once (with no call) instead of holding its stop for up to `wait`.
                let calls = await cancelWhenGracefulShutdown { [relay = plane.relay] in await relay.poll(toolbox.id, wait: .seconds(wait)) }
                return try JSONResponse.encode(CallBatch(calls: calls), encoder: ToolboxProtocolCoding.encoder())
            },
            Endpoint(.post, "/api/v1/dtma/calls/{id}/answer") { call in
                let toolbox = try droplet(call)
                let buffer = try await call.request.body.collect(upTo: answerLimit)
                let answer: RelayedAnswer
                do {
                    answer = try ToolboxProtocolCoding.decoder().decode(RelayedAnswer.self, from: Data(buffer: buffer))
                } catch {
                    throw ServiceError(.invalidRequest, "the body is not a relayed answer (answer or failure)")
                }
                try await plane.relay.answer(try call.id(), from: toolbox.id, answer)
                return Response(status: .noContent)
            },
        ]
    }

    /// The calling droplet's toolbox: only a DigitalOcean toolbox's token may use these routes.
    private static func droplet(_ call: Call) throws -> AccountToolEnvironment {
        guard case .toolbox(let toolbox) = try call.caller, toolbox.provider == .digitalocean else {
            throw ServiceError(.forbidden, "only a droplet's DTMA, with its toolbox token, calls home here", reason: "toolbox_token_required")
        }
        return toolbox
    }

    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/dtma/heartbeat": {
                "post": {"operationId": "dtmaHeartbeat", "summary": "A droplet's DTMA reports its version, host health and instances; the answer is the desired state, the agent release and the next interval (toolbox token only)", "tags": ["dtma"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["toolbox_id", "agent_version", "sent_at", "health", "instances"]}}}},
                  "responses": {"200": {"description": "What the toolbox should run.", "content": {"application/json": {"schema": {"type": "object", "required": ["desired", "agent_release", "heartbeat_interval_ms"],
                      "properties": {"desired": {"type": "object"}, "agent_release": {"type": "object", "required": ["version", "sha256"], "properties": {"version": {"type": "string"}, "sha256": {"type": "string"}}},
                        "heartbeat_interval_ms": {"type": "integer"}}}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
                    "404": {"$ref": "#/components/responses/NotFound"}, "413": {"$ref": "#/components/responses/TooLarge"}}}
              },
              "/api/v1/dtma/events": {
                "post": {"operationId": "dtmaEvents", "summary": "A droplet's DTMA reports what it did to its instances' containers (toolbox token only)", "tags": ["dtma"],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["events"],
                    "properties": {"events": {"type": "array", "items": {"type": "object", "required": ["instance_id", "kind", "message"]}}}}}}},
                  "responses": {"204": {"description": "Stored (events of instances on other toolboxes are dropped)."},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
                    "413": {"$ref": "#/components/responses/TooLarge"}}}
              },
              "/api/v1/dtma/calls": {
                "get": {"operationId": "dtmaPollCalls", "summary": "A droplet's DTMA waits (long poll) for tool calls to its instances (toolbox token only)", "tags": ["dtma"],
                  "parameters": [{"name": "wait", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 30}, "description": "Seconds to wait for a call (default 25)."}],
                  "responses": {"200": {"description": "The calls waiting; none when the wait ended quietly.", "content": {"application/json": {"schema": {"type": "object", "required": ["calls"],
                      "properties": {"calls": {"type": "array", "items": {"type": "object"}}}}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}}
              },
              "/api/v1/dtma/calls/{id}/answer": {
                "post": {"operationId": "dtmaAnswerCall", "summary": "A droplet's DTMA sends the outcome of a relayed tool call (toolbox token only)", "tags": ["dtma"],
                  "parameters": [{"$ref": "#/components/parameters/Id"}],
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
                  "responses": {"204": {"description": "Relayed to the calling agent."},
                    "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
                    "404": {"$ref": "#/components/responses/NotFound"}, "413": {"$ref": "#/components/responses/TooLarge"}}}
              }
            }
            """#)
}

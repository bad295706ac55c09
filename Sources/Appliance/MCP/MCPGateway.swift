import Foundation
import HTTPTypes
import Hummingbird
import JSONSchema
import Logging
import MCP
import NIOCore
import Services
import Storage
import ToolboxProtocol

/// `/mcp`: every agent's toolbelt as a Model Context Protocol server over Streamable HTTP (the MCP Swift SDK's
/// stateful transport and server). Each request carries the agent's token (Bearer); a session belongs to the agent
/// that opened it, and another agent's session id is not found. `tools/list` is the agent's callable capabilities
/// (``ToolCallService/toolbeltTools(by:)``), `tools/call` runs the REST execute path (ticket, request-scoped
/// credentials, audit), and a session hears `notifications/tools/list_changed` within a second of its list changing.
actor MCPGateway {
    /// One client's session.
    private struct Session {
        let agentID: UUID
        let server: Server
        let transport: StatefulHTTPServerTransport
        var lastUsed: Date
        /// The names of the tools the agent could call when last looked at.
        var callable: [String]
    }

    /// Sessions idle this long are closed.
    static let idleLimit: TimeInterval = 3_600

    private let plane: ControlPlane
    private let logger: Logger
    private var sessions: [String: Session] = [:]
    private var watcher: Task<Void, Never>?

    init(plane: ControlPlane, logger: Logger) {
        self.plane = plane
        self.logger = logger
    }

    /// Registers `/mcp` (POST, GET, DELETE) on `router`.
    static func register(on router: Router<APIContext>, plane: ControlPlane, logger: Logger) {
        let gateway = MCPGateway(plane: plane, logger: logger)
        for method in [HTTPTypes.HTTPRequest.Method.post, .get, .delete] {
            router.on("/mcp", method: method) { request, _ in
                let principal: Principal
                do {
                    principal = try await plane.tokens.authenticate(try request.bearerToken(), from: RequestSource.address)
                } catch let error as ServiceError where error.code == .rateLimited {
                    return Self.response(.error(statusCode: 429, .invalidRequest(error.message)), challenge: false)
                } catch {
                    return Self.response(.error(statusCode: 401, .invalidRequest("send an agent token: Authorization: Bearer <token>")), challenge: true)
                }
                let body = try await request.body.collect(upTo: 1 << 20)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = headers[field.name.canonicalName].map { $0 + ", " + field.value } ?? field.value }
                let mcpRequest = MCP.HTTPRequest(method: request.method.rawValue, headers: headers, body: Data(buffer: body), path: request.uri.path)
                return Self.response(await gateway.handle(mcpRequest, principal: principal), challenge: false)
            }
        }
    }

    /// Routes one request to its session, or opens a session for an `initialize`.
    func handle(_ request: MCP.HTTPRequest, principal: Principal) async -> MCP.HTTPResponse {
        guard case .agent(let agent) = principal else {
            return .error(statusCode: 403, .invalidRequest("only an agent token opens an MCP session; this is a \(principal.auditActor.kind.rawValue) token"))
        }
        if let id = request.header(HTTPHeaderName.sessionID) {
            guard var session = sessions[id], session.agentID == agent.id else {
                return .error(statusCode: 404, .invalidRequest("no MCP session \(id) for this agent: initialize a new one"))
            }
            session.lastUsed = Date()
            sessions[id] = session
            let response = await session.transport.handleRequest(request)
            if request.method == "DELETE" && response.statusCode == 200 { await close(id) }
            return response
        }
        guard request.method == "POST", let body = request.body, Self.isInitialize(body) else {
            return .error(statusCode: 400, .invalidRequest("no Mcp-Session-Id: the first request of a session must be initialize"))
        }
        return await open(request, agent: agent)
    }

    private func open(_ request: MCP.HTTPRequest, agent: Agent) async -> MCP.HTTPResponse {
        let transport = StatefulHTTPServerTransport(logger: logger)
        let server = Server(
            name: "agentbox", version: AgentboxBuild.version, title: "agentbox toolbelt of \(agent.name)",
            capabilities: Server.Capabilities(tools: .init(listChanged: true)))
        let principal = Principal.agent(agent)
        let calls = plane.calls
        await server.withMethodHandler(ListTools.self) { _ in
            let tools = try await calls.toolbeltTools(by: principal).filter(\.callable)
            return ListTools.Result(tools: try tools.map { Tool(name: $0.name, description: $0.description, inputSchema: try Self.value($0.inputSchema)) })
        }
        await server.withMethodHandler(CallTool.self) { parameters in
            try await Self.call(parameters, principal: principal, calls: calls)
        }
        do {
            try await server.start(transport: transport)
        } catch {
            return .error(statusCode: 500, .internalError("the MCP session could not start: \(error)"))
        }
        let response = await transport.handleRequest(request)
        if let id = response.headers[HTTPHeaderName.sessionID] {
            let callable = (try? await calls.toolbeltTools(by: principal).filter(\.callable).map(\.name)) ?? []
            sessions[id] = Session(agentID: agent.id, server: server, transport: transport, lastUsed: Date(), callable: callable)
            startWatching()
        } else {
            await server.stop()
        }
        return response
    }

    private func close(_ id: String) async {
        guard let session = sessions.removeValue(forKey: id) else { return }
        await session.server.stop()
    }

    /// Once a second: tells each session whose callable tools changed, and closes idle sessions.
    private func startWatching() {
        guard watcher == nil else { return }
        watcher = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await self?.look()
            }
        }
    }

    private func look() async {
        let now = Date()
        for (id, session) in sessions {
            if now.timeIntervalSince(session.lastUsed) > Self.idleLimit {
                await close(id)
                continue
            }
            guard let agent = try? await plane.backend.database.fetchAgent(id: session.agentID),
                let callable = try? await plane.calls.toolbeltTools(by: .agent(agent)).filter(\.callable).map(\.name)
            else { continue }
            guard callable != session.callable else { continue }
            sessions[id]?.callable = callable
            do {
                try await session.server.notify(ToolListChangedNotification.message())
            } catch {
                logger.debug("could not tell MCP session \(id) its tool list changed: \(error)")
            }
        }
    }

    /// A `tools/call`: the execute route's path; agentbox's refusals come back as tool errors naming their code.
    private static func call(_ parameters: CallTool.Parameters, principal: Principal, calls: ToolCallService) async throws -> CallTool.Result {
        func failure(_ code: String, _ message: String) -> CallTool.Result {
            CallTool.Result(
                content: [.text(text: "\(code): \(message)", annotations: nil, _meta: nil)],
                structuredContent: .object(["error": .object(["code": .string(code), "message": .string(message)])]), isError: true)
        }
        guard let tool = try await calls.toolbeltTools(by: principal).first(where: { $0.name == parameters.name }) else {
            return failure("unknown_tool", "this agent's toolbelt has no tool \(parameters.name); tools/list names the ones it may call")
        }
        let input = try JSONValue(parsing: Data(try JSONEncoder().encode(parameters.arguments ?? [:])))
        do {
            let answer = try await calls.execute(
                itemID: tool.itemID, capability: tool.capability, input: input, requestID: "mcp-\(UUID().uuidString.lowercased())", by: principal)
            // A tool that is an MCP server answered with its own tools/call result: relayed as it is.
            if tool.speaksMCP, let relayed = try? JSONDecoder().decode(CallTool.Result.self, from: Data(answer.body)) { return relayed }
            let text = String(decoding: answer.body, as: UTF8.self)
            let structured = try? JSONDecoder().decode(Value.self, from: Data(answer.body))
            return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], structuredContent: structured.flatMap { $0.objectValue != nil ? $0 : nil }, isError: answer.status >= 400)
        } catch let error as ServiceError {
            return failure(error.reason ?? error.code.description, error.message)
        }
    }

    /// Whether a POST body is the JSON-RPC `initialize` request that opens a session.
    private static func isInitialize(_ body: Data) -> Bool {
        guard case .object(let message)? = try? JSONValue(parsing: body) else { return false }
        return message["method"] == .string("initialize")
    }

    /// An MCP value from a JSON value.
    static func value(_ json: JSONValue) throws -> Value {
        try JSONDecoder().decode(Value.self, from: Data(json.jsonText.utf8))
    }

    /// The SDK's answer as a Hummingbird response (an SSE stream stays a stream).
    private static func response(_ answer: MCP.HTTPResponse, challenge: Bool) -> Response {
        var headers = HTTPFields()
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        if challenge { headers[.wwwAuthenticate] = #"Bearer realm="agentbox""# }
        let status = HTTPTypes.HTTPResponse.Status(code: answer.statusCode)
        if case .stream(let stream, _) = answer {
            return Response(status: status, headers: headers, body: ResponseBody(asyncSequence: stream.map { ByteBuffer(data: $0) }))
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(data: answer.bodyData ?? Data())))
    }
}

import Foundation
import HTTPClient
import JSONSchema
import ToolboxProtocol

/// A call of a tool that is itself an MCP server (catalog `protocol: mcp`): a short MCP session over Streamable
/// HTTP on the container's port (`initialize`, `notifications/initialized`, `tools/call`, then `DELETE`), each
/// request carrying the agent's credentials in the headers the tool's secrets schema declares, and nothing else
/// carrying them: not the container's environment, a file or a label. The answer is the MCP `tools/call` result.
extension ToolCallRunner {
    /// The MCP protocol version agentbox asks for.
    static let mcpProtocolVersion = "2025-06-18"

    func runMCP(_ call: ToolCall, _ mcp: MCPCall, grant: CredentialGrant) async throws(ToolCallError) -> ToolAnswer {
        let url = "http://127.0.0.1:\(call.hostPort)\(mcp.path)"
        var headers = try Self.credentialHeaders(mcp, grant)
        headers.add("Content-Type", "application/json")
        headers.add("Accept", "application/json, text/event-stream")
        headers.add("X-Request-Id", call.requestID)
        let started = ContinuousClock.now
        let hello = JSONValue.object([
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": [
                "protocolVersion": .string(Self.mcpProtocolVersion), "capabilities": [:],
                "clientInfo": ["name": "agentbox", "version": .string(AgentboxBuild.version)],
            ],
        ])
        let (initialized, session) = try await exchange(url, headers, hello, id: 1, call)
        if let session { headers.add("Mcp-Session-Id", session) }
        var version = Self.mcpProtocolVersion
        if case .object(let result) = initialized, case .string(let agreed)? = result["protocolVersion"] { version = agreed }
        headers.add("MCP-Protocol-Version", version)
        _ = try await post(url, headers, .object(["jsonrpc": "2.0", "method": "notifications/initialized"]), call)
        let input = (try? JSONValue(parsing: call.input)) ?? .object([:])
        let request = JSONValue.object([
            "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": ["name": .string(call.capability), "arguments": input],
        ])
        let (result, _) = try await exchange(url, headers, request, id: 2, call)
        if session != nil { _ = try? await client.send(HTTPRequest(.delete, url: url, headers: headers, timeout: .seconds(2))) }
        return ToolAnswer(status: 200, body: Array(result.jsonText.utf8), duration: ContinuousClock.now - started, credentialReport: nil)
    }

    /// The declared headers with the credential fields' values (strings only; a missing field sends no header).
    static func credentialHeaders(_ mcp: MCPCall, _ grant: CredentialGrant) throws(ToolCallError) -> HTTPHeaders {
        var headers = HTTPHeaders()
        guard !mcp.credentialHeaders.isEmpty else { return headers }
        let credentials: JSONValue
        do {
            credentials = try grant.secret.withUnsafeBytes { try JSONValue(parsing: $0) }
        } catch {
            throw ToolCallError(.toolFailed, "credentials_unreadable", "the agent's stored credentials are not a JSON object")
        }
        guard case .object(let fields) = credentials else {
            throw ToolCallError(.toolFailed, "credentials_unreadable", "the agent's stored credentials are not a JSON object")
        }
        for declared in mcp.credentialHeaders {
            guard case .string(let value)? = fields[declared.field] else { continue }
            headers.add(declared.header, declared.prefix + value)
        }
        return headers
    }

    /// Posts one JSON-RPC request and returns its result (from a JSON or an SSE answer) and the session id.
    private func exchange(_ url: String, _ headers: HTTPHeaders, _ message: JSONValue, id: Int64, _ call: ToolCall) async throws(ToolCallError) -> (
        JSONValue, String?
    ) {
        let response = try await post(url, headers, message, call)
        guard (200..<300).contains(response.status) else {
            throw ToolCallError(.toolFailed, "tool_bad_answer", "the tool's MCP endpoint answered HTTP \(response.status)")
        }
        let messages: [JSONValue]
        if (response.headers["Content-Type"] ?? "").hasPrefix("text/event-stream") {
            let text = String(decoding: response.body, as: UTF8.self)
            messages = text.split(separator: "\n").compactMap { line in
                line.hasPrefix("data:") ? try? JSONValue(parsing: String(line.dropFirst(5)).trimmingCharacters(in: .whitespaces)) : nil
            }
        } else {
            messages = [(try? JSONValue(parsing: response.body)) ?? .null]
        }
        for case .object(let reply) in messages where reply["id"] == .integer(id) {
            if case .object(let error)? = reply["error"] {
                var message = "the tool's MCP server refused the request"
                if case .string(let text)? = error["message"] { message += ": \(text.prefix(500))" }
                throw ToolCallError(.toolFailed, "tool_mcp_error", message)
            }
            if let result = reply["result"] { return (result, response.headers["Mcp-Session-Id"]) }
        }
        throw ToolCallError(.toolFailed, "tool_bad_answer", "the tool's MCP endpoint gave no JSON-RPC answer to request \(id)")
    }

    private func post(_ url: String, _ headers: HTTPHeaders, _ message: JSONValue, _ call: ToolCall) async throws(ToolCallError) -> HTTPResponse {
        do {
            return try await client.send(HTTPRequest(.post, url: url, headers: headers, body: Array(message.jsonText.utf8), timeout: call.timeout))
        } catch {
            throw Self.failure(error, call)
        }
    }
}

import Foundation
import HTTPClient
import JSONSchema
import ToolboxProtocol

/// The DTMA's side of a tool call: redeems the call's ticket for the agent's credentials, puts them into the one
/// `POST /execute` request to the container (tool contract v1, docs/tool-contract.md; MCP tools: ``runMCP(_:_:grant:)``) and nowhere else, and hands
/// back the tool's answer with what the tool said about the credentials. The request body is zeroed once sent;
/// the credentials never reach a log, an environment variable, a file or a label.
public struct ToolCallRunner: Sendable {
    /// Redeems a ticket at the backend's hand-out (over HTTP for a droplet, in-process for the local toolboxes).
    public typealias Redeem = @Sendable (String) async throws(ToolCallError) -> CredentialGrant

    /// The largest tool answer relayed; a larger one fails the call with `tool_answer_too_large`.
    public static let answerLimit = 8 << 20

    let redeem: Redeem
    let client = HTTPClient(configuration: .init(connectTimeout: .seconds(2), maximumResponseSize: answerLimit))

    public init(redeem: @escaping Redeem) {
        self.redeem = redeem
    }

    /// Runs one call against the container on `call.hostPort`.
    public func run(_ call: ToolCall) async throws(ToolCallError) -> ToolAnswer {
        let grant = try await redeem(call.ticket)
        guard grant.matches(call) else {
            throw ToolCallError(.denied, "ticket_mismatch", "the call ticket was minted for another call")
        }
        if let mcp = call.mcp { return try await runMCP(call, mcp, grant: grant) }
        var body = Self.requestBody(call, grant)
        defer { body.withUnsafeMutableBytes { SecretBytes.wipe($0) } }
        let request = HTTPRequest(
            .post, url: "http://127.0.0.1:\(call.hostPort)/execute",
            headers: ["Content-Type": "application/json", "Accept": "application/json", "X-Request-Id": call.requestID], body: body,
            timeout: call.timeout)
        let started = ContinuousClock.now
        let response: HTTPResponse
        do {
            response = try await client.send(request)
        } catch {
            throw Self.failure(error, call)
        }
        return try Self.answer(response, duration: ContinuousClock.now - started, credentialID: grant.credentialID)
    }

    /// `{"request_id", "agent_id", "capability", "input", "credentials"}`, built around the secret's bytes.
    static func requestBody(_ call: ToolCall, _ grant: CredentialGrant) -> [UInt8] {
        let head = #"{"request_id":"# + JSONValue.string(grant.requestID).jsonText + #","agent_id":"#
            + JSONValue.string(grant.agentID.uuidString.lowercased()).jsonText + #","capability":"# + JSONValue.string(grant.capability).jsonText
            + #","input":"# + call.input + #","credentials":"#
        var body: [UInt8] = []
        body.reserveCapacity(head.utf8.count + grant.secret.count + 1)
        body.append(contentsOf: head.utf8)
        grant.secret.withUnsafeBytes { body.append(contentsOf: $0) }
        body.append(UInt8(ascii: "}"))
        return body
    }

    static func failure(_ error: HTTPClientError, _ call: ToolCall) -> ToolCallError {
        switch error.code {
        case .timedOut:
            return ToolCallError(.timedOut, "tool_timeout", "the tool did not answer within \(call.timeout.wholeMilliseconds) ms; it was cut off")
        case .responseTooLarge:
            return ToolCallError(.toolFailed, "tool_answer_too_large", "the tool's answer is larger than \(answerLimit >> 20) MiB")
        case .couldNotConnect:
            return ToolCallError(.toolFailed, "tool_unreachable", "the tool does not accept connections on its port; is its container running?")
        default:
            return ToolCallError(.toolFailed, "tool_unreachable", "the call to the tool failed: \(error.code)")
        }
    }

    /// The relayed answer: a JSON body, with the `agentbox` member taken out and read.
    static func answer(_ response: HTTPResponse, duration: Duration, credentialID: UUID) throws(ToolCallError) -> ToolAnswer {
        guard (200...599).contains(response.status) else {
            throw ToolCallError(.toolFailed, "tool_bad_answer", "the tool answered with HTTP status \(response.status)")
        }
        let parsed: JSONValue
        do {
            parsed = try JSONValue(parsing: response.body)
        } catch {
            throw ToolCallError(
                .toolFailed, "tool_bad_answer",
                "the tool answered status \(response.status) with a body that is not JSON (\(error.message)); tools answer JSON (docs/tool-contract.md)")
        }
        guard case .object(var members) = parsed, let note = members.removeValue(forKey: "agentbox") else {
            return ToolAnswer(status: response.status, body: response.body, duration: duration, credentialReport: nil)
        }
        let report = try credentialReport(note, credentialID: credentialID)
        return ToolAnswer(status: response.status, body: Array(JSONValue.object(members).jsonText.utf8), duration: duration, credentialReport: report)
    }

    /// Reads `{"credentials": "rejected", "reason": "..."}` or `{"credentials": "refreshed", "refreshed": {...}}`.
    static func credentialReport(_ note: JSONValue, credentialID: UUID) throws(ToolCallError) -> CredentialReport? {
        func bad(_ message: String) -> ToolCallError {
            ToolCallError(.toolFailed, "tool_bad_answer", "the tool's \"agentbox\" member \(message) (docs/tool-contract.md)")
        }
        guard case .object(let fields) = note else { throw bad("must be an object") }
        switch fields["credentials"] {
        case nil, .string("accepted")?:
            return nil
        case .string("rejected")?:
            var reason = "the tool rejected the credentials"
            if case .string(let text)? = fields["reason"] { reason = String(text.prefix(500)) }
            return CredentialReport(credentialID: credentialID, verdict: .rejected(reason: reason))
        case .string("refreshed")?:
            guard case .object? = fields["refreshed"], let refreshed = fields["refreshed"] else {
                throw bad("says the credentials were refreshed but has no \"refreshed\" object")
            }
            var text = refreshed.jsonText
            let secret = text.withUTF8 { SecretBytes(copying: UnsafeRawBufferPointer($0)) }
            return CredentialReport(credentialID: credentialID, verdict: .refreshed(secret))
        default:
            throw bad("has \"credentials\" other than \"accepted\", \"rejected\" or \"refreshed\"")
        }
    }
}

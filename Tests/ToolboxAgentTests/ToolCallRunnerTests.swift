import Foundation
import HTTPClient
import JSONSchema
import Testing
import ToolboxProtocol

@testable import ToolboxAgent

/// The DTMA's reading and writing of the tool contract: the request body around the credentials, and the tool's
/// answer with its `agentbox` member taken out (the end-to-end test runs the same code against a real container).
struct ToolCallRunnerTests {
    let credentialID = UUID()

    func call(requestID: String = "req-1") -> ToolCall {
        ToolCall(
            ticket: "abx_c_x", requestID: requestID, agentID: UUID(), instanceID: UUID(), capability: "gmail_send", input: #"{"to":"ada@example.com"}"#,
            hostPort: 1, timeout: .seconds(1))
    }

    func grant(for call: ToolCall, secret: String) -> CredentialGrant {
        var text = secret
        return CredentialGrant(
            agentID: call.agentID, instanceID: call.instanceID, capability: call.capability, requestID: call.requestID, credentialID: credentialID,
            secret: text.withUTF8 { SecretBytes(copying: UnsafeRawBufferPointer($0)) })
    }

    func answer(_ body: String, status: Int = 200) throws(ToolCallError) -> ToolAnswer {
        try ToolCallRunner.answer(HTTPResponse(status: status, headers: [:], body: Array(body.utf8)), duration: .zero, credentialID: credentialID)
    }

    @Test func theRequestBodyHoldsTheCallAndTheCredentialsAsTheContractSays() throws {
        let call = call(requestID: #"req "quoted" \ id"#)
        let body = ToolCallRunner.requestBody(call, grant(for: call, secret: #"{"api_key":"sk-1"}"#))
        guard case .object(let fields) = try JSONValue(parsing: body) else { Issue.record("not an object"); return }
        #expect(Set(fields.keys) == ["request_id", "agent_id", "capability", "input", "credentials"])
        #expect(fields["request_id"] == .string(#"req "quoted" \ id"#))
        #expect(fields["agent_id"] == .string(call.agentID.uuidString.lowercased()))
        #expect(fields["input"] == .object(["to": "ada@example.com"]))
        #expect(fields["credentials"] == .object(["api_key": "sk-1"]))
    }

    @Test func aPlainAnswerIsRelayedByteForByte() throws {
        let text = #"{"sent": true,  "id": 1.50}"#
        let relayed = try answer(text, status: 201)
        #expect(relayed.status == 201 && relayed.body == Array(text.utf8) && relayed.credentialReport == nil)
        #expect(try answer("[1, 2]").body == Array("[1, 2]".utf8))
    }

    @Test func theAgentboxMemberIsTakenOutAndRead() throws {
        let rejected = try answer(#"{"error": "bad key", "agentbox": {"credentials": "rejected", "reason": "401 from the mail service"}}"#, status: 401)
        #expect(rejected.status == 401 && String(decoding: rejected.body, as: UTF8.self) == #"{"error":"bad key"}"#)
        guard case .rejected(let reason)? = rejected.credentialReport?.verdict else { Issue.record("no rejection"); return }
        #expect(reason == "401 from the mail service" && rejected.credentialReport?.credentialID == credentialID)

        let refreshed = try answer(#"{"ok": 1, "agentbox": {"credentials": "refreshed", "refreshed": {"api_key": "sk-2"}}}"#)
        #expect(String(decoding: refreshed.body, as: UTF8.self) == #"{"ok":1}"#)
        guard case .refreshed(let secret)? = refreshed.credentialReport?.verdict else { Issue.record("no refresh"); return }
        #expect(secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } == #"{"api_key":"sk-2"}"#)

        #expect(try answer(#"{"agentbox": {"credentials": "accepted"}}"#).credentialReport == nil)
    }

    @Test func answersOutsideTheContractFailWithToolBadAnswer() {
        for (body, status) in [
            ("not json", 200), (#"{"agentbox": "rejected"}"#, 200), (#"{"agentbox": {"credentials": "lost"}}"#, 200),
            (#"{"agentbox": {"credentials": "refreshed"}}"#, 200), ("{}", 99),
        ] {
            do {
                _ = try answer(body, status: status)
                Issue.record("\(body) with status \(status) was relayed")
            } catch {
                #expect(error.code == "tool_bad_answer" && error.kind == .toolFailed)
            }
        }
    }
}

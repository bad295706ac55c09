import Foundation

// The call-home transport of the backend-to-DTMA protocol, for droplets: every request is opened by the droplet's
// agent (`agentbox dtma`) and authenticated with its toolbox token, over TLS pinned to the appliance's key. The
// routes, all under the appliance's `/api/v1`:
//
//   POST /dtma/heartbeat        Heartbeat               -> HeartbeatAnswer (desired state, agent release, interval)
//   POST /dtma/events           EventBatch              -> 204
//   GET  /dtma/calls?wait=S     (long poll, S <= 30)    -> CallBatch (empty after S seconds without a call)
//   POST /dtma/calls/{id}/answer RelayedAnswer          -> 204
//   POST /dtma/credentials      {"ticket"}              -> the hand-out (agent's credentials for one call)
//   GET  /dtma/agent-binary     (toolbox token)         -> the agent release's binary (headers Agentbox-Version, Agentbox-Sha256)
//   GET  /agent/package         (enrollment or toolbox token) -> a .deb of the agent release
//   POST /dtma/enroll           (enrollment token)      -> {"toolbox_id", "token"}
//
// Every body is JSON with snake_case keys and ISO-8601 times (``ToolboxProtocolCoding``).

/// The appliance's answer to a heartbeat: what to run, which agent version to run, and when to beat next.
public struct HeartbeatAnswer: Codable, Sendable, Equatable {
    public var desired: DesiredState
    /// The agent build the appliance serves; an agent of another version updates itself to it.
    public var agentRelease: AgentRelease
    /// Milliseconds until the next heartbeat.
    public var heartbeatIntervalMS: Int

    public init(desired: DesiredState, agentRelease: AgentRelease, heartbeatIntervalMS: Int) {
        self.desired = desired
        self.agentRelease = agentRelease
        self.heartbeatIntervalMS = heartbeatIntervalMS
    }

    enum CodingKeys: String, CodingKey {
        case desired
        case agentRelease = "agent_release"
        case heartbeatIntervalMS = "heartbeat_interval_ms"
    }
}

/// An agent build: its version and the SHA-256 (lowercase hex) of its binary, as `GET /dtma/agent-binary` serves it.
public struct AgentRelease: Codable, Sendable, Equatable {
    public var version: String
    public var sha256: String

    public init(version: String, sha256: String) {
        self.version = version
        self.sha256 = sha256
    }
}

/// What an agent did to instances' containers since its last batch (the reconciler's events), oldest first.
public struct EventBatch: Codable, Sendable, Equatable {
    public var events: [ReportedEvent]

    public init(events: [ReportedEvent]) {
        self.events = events
    }
}

/// One thing that happened to an instance's container: `pull`, `created`, `started`, `crashed`, ...
public struct ReportedEvent: Codable, Sendable, Equatable {
    public var instanceID: UUID
    public var kind: String
    public var message: String

    public init(instanceID: UUID, kind: String, message: String) {
        self.instanceID = instanceID
        self.kind = kind
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case instanceID = "instance_id"
        case kind, message
    }
}

/// The tool calls waiting for a toolbox, as one long poll returns them (none when the wait ended quietly).
public struct CallBatch: Codable, Sendable, Equatable {
    public var calls: [RelayedCall]

    public init(calls: [RelayedCall]) {
        self.calls = calls
    }
}

/// A ``ToolCall`` on the wire, with the id its answer must quote. It carries the per-call ticket, never the agent's token.
public struct RelayedCall: Codable, Sendable, Equatable {
    public var callID: UUID
    public var ticket: String
    public var requestID: String
    public var agentID: UUID
    public var instanceID: UUID
    public var capability: String
    /// The agent's input as JSON text.
    public var input: String
    public var hostPort: Int
    public var timeoutMS: Int64
    /// Set for a tool that is an MCP server; absent from older appliances, which relay contract v1 calls only.
    public var mcp: MCPCall?

    public init(callID: UUID, call: ToolCall) {
        self.callID = callID
        ticket = call.ticket
        requestID = call.requestID
        agentID = call.agentID
        instanceID = call.instanceID
        capability = call.capability
        input = call.input
        hostPort = call.hostPort
        timeoutMS = call.timeout.wholeMilliseconds
        mcp = call.mcp
    }

    /// The call for the DTMA's ``ToolCallRunner``.
    public var call: ToolCall {
        ToolCall(
            ticket: ticket, requestID: requestID, agentID: agentID, instanceID: instanceID, capability: capability, input: input, hostPort: hostPort,
            timeout: .milliseconds(timeoutMS), mcp: mcp)
    }

    enum CodingKeys: String, CodingKey {
        case callID = "call_id"
        case ticket
        case requestID = "request_id"
        case agentID = "agent_id"
        case instanceID = "instance_id"
        case capability, input
        case hostPort = "host_port"
        case timeoutMS = "timeout_ms"
        case mcp
    }
}

/// A DTMA's outcome of a relayed call: the tool's answer, or why there is none.
public struct RelayedAnswer: Codable, Sendable {
    /// The tool's answer; nil when `failure` says why there is none.
    public var answer: Answer?
    public var failure: Failure?

    /// The tool's status and body (base64), how long it took, and its verdict on the credentials.
    public struct Answer: Codable, Sendable {
        public var status: Int
        /// The relayed body, base64.
        public var body: String
        public var durationMS: Int64
        public var credentials: CredentialVerdict?

        enum CodingKeys: String, CodingKey {
            case status, body
            case durationMS = "duration_ms"
            case credentials
        }
    }

    /// A tool's verdict on a call's credentials: `rejected` with a reason, or `refreshed` with the object to keep.
    public struct CredentialVerdict: Codable, Sendable {
        public var credentialID: UUID
        /// `rejected` or `refreshed`.
        public var verdict: String
        public var reason: String?
        /// The refreshed credentials' JSON object, as text (only for `refreshed`).
        public var refreshed: String?

        enum CodingKeys: String, CodingKey {
            case credentialID = "credential_id"
            case verdict, reason, refreshed
        }
    }

    /// A ``ToolCallError`` on the wire; `kind` is `denied`, `tool_failed`, `timed_out` or `unavailable`.
    public struct Failure: Codable, Sendable {
        public var kind: String
        public var code: String
        public var message: String
    }

    /// The wire form of a call's outcome.
    public init(_ outcome: Result<ToolAnswer, ToolCallError>) {
        switch outcome {
        case .success(let answer):
            var verdict: CredentialVerdict?
            if let report = answer.credentialReport {
                switch report.verdict {
                case .rejected(let reason):
                    verdict = CredentialVerdict(credentialID: report.credentialID, verdict: "rejected", reason: reason, refreshed: nil)
                case .refreshed(let secret):
                    let text = secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                    verdict = CredentialVerdict(credentialID: report.credentialID, verdict: "refreshed", reason: nil, refreshed: text)
                }
            }
            self.answer = Answer(
                status: answer.status, body: Data(answer.body).base64EncodedString(), durationMS: answer.duration.wholeMilliseconds, credentials: verdict)
            failure = nil
        case .failure(let error):
            answer = nil
            failure = Failure(kind: Self.kindNames[error.kind] ?? "unavailable", code: error.code, message: error.message)
        }
    }

    /// The outcome this answer carries; a malformed answer is the DTMA's failure.
    public var outcome: Result<ToolAnswer, ToolCallError> {
        if let failure {
            let kind = Self.kindNames.first { $0.value == failure.kind }?.key ?? .unavailable
            return .failure(ToolCallError(kind, failure.code, failure.message))
        }
        guard let answer, let body = Data(base64Encoded: answer.body) else {
            return .failure(ToolCallError(.toolFailed, "tool_bad_answer", "the toolbox relayed an answer agentbox cannot read"))
        }
        var report: CredentialReport?
        if let verdict = answer.credentials {
            switch (verdict.verdict, verdict.refreshed) {
            case ("rejected", _):
                report = CredentialReport(credentialID: verdict.credentialID, verdict: .rejected(reason: verdict.reason ?? ""))
            case ("refreshed", let text?):
                report = CredentialReport(
                    credentialID: verdict.credentialID, verdict: .refreshed(Array(text.utf8).withUnsafeBytes { SecretBytes(copying: $0) }))
            default:
                return .failure(ToolCallError(.toolFailed, "tool_bad_answer", "the toolbox relayed a credential verdict agentbox cannot read"))
            }
        }
        return .success(ToolAnswer(status: answer.status, body: Array(body), duration: .milliseconds(answer.durationMS), credentialReport: report))
    }

    private static let kindNames: [ToolCallError.Kind: String] = [
        .denied: "denied", .toolFailed: "tool_failed", .timedOut: "timed_out", .unavailable: "unavailable",
    ]
}

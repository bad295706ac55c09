import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Tool calls between the backend and the DTMA that hosts the instance (flow 5 of ARCHITECTURE.md): the backend
// hands over a ``ToolCall`` with its per-call ticket, the DTMA redeems the ticket for a ``CredentialGrant``, runs
// the call against the container and answers with a ``ToolAnswer``, or fails with a ``ToolCallError``.

/// One accepted tool call, as the backend hands it to the DTMA. It carries a ticket, never the agent's token.
public struct ToolCall: Sendable, Equatable {
    /// The single-use ticket the DTMA redeems for the agent's credentials.
    public var ticket: String
    public var requestID: String
    public var agentID: UUID
    public var instanceID: UUID
    public var capability: String
    /// The agent's input as JSON text, already checked against the capability's input schema.
    public var input: String
    /// The instance's host port on the DTMA's engine (published on 127.0.0.1).
    public var hostPort: Int
    /// How long the tool may take to answer.
    public var timeout: Duration
    /// How the container is called: `POST /execute` (tool contract v1), or `tools/call` on its MCP endpoint.
    public var mcp: MCPCall?

    public init(
        ticket: String, requestID: String, agentID: UUID, instanceID: UUID, capability: String, input: String, hostPort: Int, timeout: Duration,
        mcp: MCPCall? = nil
    ) {
        self.ticket = ticket
        self.requestID = requestID
        self.agentID = agentID
        self.instanceID = instanceID
        self.capability = capability
        self.input = input
        self.hostPort = hostPort
        self.timeout = timeout
        self.mcp = mcp
    }
}

/// How a tool that is itself an MCP server (catalog `protocol: mcp`) is called: Streamable HTTP at `path` on its
/// port, the capability as the MCP tool's name, and the agent's credentials in the request headers its secrets
/// schema declares (`x-agentbox-header`, with an optional `x-agentbox-prefix` such as `Bearer `), on each request
/// of the call only.
public struct MCPCall: Codable, Sendable, Equatable {
    /// One credential field sent as a header.
    public struct CredentialHeader: Codable, Sendable, Equatable {
        /// The HTTP header, e.g. `Authorization`.
        public var header: String
        /// The credentials object's field whose value it carries.
        public var field: String
        /// Put before the value, e.g. `Bearer `.
        public var prefix: String

        public init(header: String, field: String, prefix: String) {
            self.header = header
            self.field = field
            self.prefix = prefix
        }
    }

    /// The container's MCP endpoint.
    public var path: String
    public var credentialHeaders: [CredentialHeader]

    public init(path: String = "/mcp", credentialHeaders: [CredentialHeader]) {
        self.path = path
        self.credentialHeaders = credentialHeaders
    }

    enum CodingKeys: String, CodingKey {
        case path
        case credentialHeaders = "credential_headers"
    }
}

/// What a redeemed ticket gives the DTMA: what the call is for, and the agent's credentials for it.
public struct CredentialGrant: Sendable {
    public var agentID: UUID
    public var instanceID: UUID
    public var capability: String
    public var requestID: String
    public var credentialID: UUID
    /// The credentials' JSON object; zeroed when the last reference goes.
    public var secret: SecretBytes

    public init(agentID: UUID, instanceID: UUID, capability: String, requestID: String, credentialID: UUID, secret: SecretBytes) {
        self.agentID = agentID
        self.instanceID = instanceID
        self.capability = capability
        self.requestID = requestID
        self.credentialID = credentialID
        self.secret = secret
    }

    /// Whether the ticket was minted for exactly this call.
    public func matches(_ call: ToolCall) -> Bool {
        agentID == call.agentID && instanceID == call.instanceID && capability == call.capability && requestID == call.requestID
    }
}

/// The tool's answer, to relay to the agent, and what it said about the credentials it was given.
public struct ToolAnswer: Sendable {
    /// The tool's HTTP status.
    public var status: Int
    /// The tool's JSON answer, without the `agentbox` member (which is for agentbox only).
    public var body: [UInt8]
    /// How long the tool took, from sending the request to the end of its answer.
    public var duration: Duration
    /// The tool's verdict on the credentials, when it gave one.
    public var credentialReport: CredentialReport?

    public init(status: Int, body: [UInt8], duration: Duration, credentialReport: CredentialReport?) {
        self.status = status
        self.body = body
        self.duration = duration
        self.credentialReport = credentialReport
    }
}

/// A tool's verdict on the credentials of one call (the tool contract's `agentbox` member).
public struct CredentialReport: Sendable {
    public enum Verdict: Sendable {
        /// The service behind the tool refused the credentials; they need the owner's attention.
        case rejected(reason: String)
        /// The tool renewed the credentials (e.g. a refreshed OAuth token): the JSON object to keep instead.
        case refreshed(SecretBytes)
    }

    /// The credential the call was given.
    public var credentialID: UUID
    public var verdict: Verdict

    public init(credentialID: UUID, verdict: Verdict) {
        self.credentialID = credentialID
        self.verdict = verdict
    }
}

/// Why a tool call did not produce an answer: a denial with the rule's code, or a tool that failed.
public struct ToolCallError: Error, Sendable, CustomStringConvertible {
    /// Who is at fault, which decides the HTTP status the agent sees.
    public enum Kind: Sendable {
        /// A rule denied the call (403).
        case denied
        /// The tool answered badly or not at all (502).
        case toolFailed
        /// The tool did not answer in time (504).
        case timedOut
        /// The toolbox or its DTMA cannot take calls now (503).
        case unavailable
    }

    public var kind: Kind
    /// A code for callers, e.g. `capability_denied`, `tool_timeout`, `tool_unreachable`.
    public var code: String
    public var message: String

    public init(_ kind: Kind, _ code: String, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// Bytes of a secret in memory of their own, zeroed when the last reference goes: the DTMA's copy of an agent's
/// credentials. Immutable after creation, hence safe to share.
public final class SecretBytes: @unchecked Sendable {
    private let buffer: UnsafeMutableRawBufferPointer

    /// Copies `bytes`; the caller wipes its own copy.
    public init(copying bytes: UnsafeRawBufferPointer) {
        buffer = .allocate(byteCount: max(1, bytes.count), alignment: 1)
        buffer.copyMemory(from: bytes)
        count = bytes.count
    }

    public let count: Int

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<count]))
    }

    deinit {
        SecretBytes.wipe(buffer)
        buffer.deallocate()
    }

    /// Zeroes memory in a way the compiler may not leave out.
    public static func wipe(_ bytes: UnsafeMutableRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        explicit_bzero(base, bytes.count)
    }
}

extension Duration {
    /// The duration in whole milliseconds (rounded down), as time-outs and audit records state it.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// The duration in seconds, as a floating-point number (for rates and figures).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

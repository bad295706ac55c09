import Crypto
import Foundation
import HTTPClient
import JSONSchema
import ToolboxProtocol

/// The droplet's HTTP client of the appliance: every call-home route, over TLS pinned to the appliance's key when
/// the settings carry a pin (then only that key is trusted, no certificate authority), else normal verification.
/// Bodies are JSON through ``ToolboxProtocolCoding``. Errors never quote a token, a ticket or a credential.
public struct ApplianceLink: Sendable {
    public let settings: DTMASettings
    /// The toolbox token; nil before enrollment (only `enroll` and `health` work then).
    let token: String?
    let client: HTTPClient
    /// The agent binary's client: no size limit short of 1 GiB, minutes to arrive.
    let downloads: HTTPClient

    /// How long a poll for calls may wait at the appliance, and the request's own limit around it.
    public static let pollWait = 25
    static let pollTimeout: Duration = .seconds(35)

    public init(settings: DTMASettings, token: String?) {
        self.settings = settings
        self.token = token
        let agent = "agentbox-dtma/\(AgentboxBuild.version)"
        client = HTTPClient(
            configuration: .init(
                connectTimeout: .seconds(10), timeout: .seconds(30), maximumResponseSize: 16 << 20, userAgent: agent, pinnedPublicKey: settings.pin))
        downloads = HTTPClient(
            configuration: .init(connectTimeout: .seconds(10), timeout: .seconds(600), maximumResponseSize: 1 << 30, userAgent: agent, pinnedPublicKey: settings.pin))
    }

    /// The same link with the toolbox token.
    public func with(token: String) -> ApplianceLink { ApplianceLink(settings: settings, token: token) }

    // MARK: - Routes

    /// `GET /healthz` (no token): whether the appliance answers through this link's TLS settings.
    public func health() async throws(DTMAError) {
        let response = try await exchange(HTTPRequest(.get, url: settings.applianceURL + "/healthz", timeout: .seconds(10)), "GET /healthz", token: nil)
        guard response.status == 200 else { throw Self.failure(response, "GET /healthz") }
    }

    /// `POST /api/v1/dtma/enroll` with the enrollment token: the toolbox id and its token.
    public func enroll(enrollmentToken: String) async throws(DTMAError) -> (toolboxID: UUID, token: String) {
        struct Enrollment: Decodable {
            let toolboxID: UUID
            let token: String
            enum CodingKeys: String, CodingKey {
                case toolboxID = "toolbox_id"
                case token
            }
        }
        let operation = "POST /api/v1/dtma/enroll"
        let response = try await exchange(
            HTTPRequest(.post, url: settings.applianceURL + "/api/v1/dtma/enroll", headers: ["Content-Type": "application/json"], body: Array("{}".utf8)),
            operation, token: enrollmentToken)
        guard response.status == 200 else {
            let failure = Self.failure(response, operation)
            throw DTMAError(.enrollment, failure.message, applianceCode: failure.applianceCode, status: failure.status)
        }
        let enrollment: Enrollment = try Self.decode(response, operation)
        return (enrollment.toolboxID, enrollment.token)
    }

    /// `POST /api/v1/dtma/heartbeat`: the appliance's desired state, agent release and interval.
    public func heartbeat(_ heartbeat: Heartbeat) async throws(DTMAError) -> HeartbeatAnswer {
        let operation = "POST /api/v1/dtma/heartbeat"
        let response = try await exchange(try post("/api/v1/dtma/heartbeat", heartbeat), operation)
        guard response.status == 200 else { throw Self.failure(response, operation) }
        return try Self.decode(response, operation)
    }

    /// `POST /api/v1/dtma/events`.
    public func send(_ events: EventBatch) async throws(DTMAError) {
        let operation = "POST /api/v1/dtma/events"
        let response = try await exchange(try post("/api/v1/dtma/events", events), operation)
        guard response.isSuccess else { throw Self.failure(response, operation) }
    }

    /// `GET /api/v1/dtma/calls?wait=S`: the calls waiting, after at most `wait` seconds.
    public func pollCalls(wait: Int = pollWait) async throws(DTMAError) -> CallBatch {
        let operation = "GET /api/v1/dtma/calls"
        let response = try await exchange(
            HTTPRequest(.get, url: settings.applianceURL + "/api/v1/dtma/calls?wait=\(wait)", headers: ["Accept": "application/json"], timeout: Self.pollTimeout),
            operation)
        guard response.status == 200 else { throw Self.failure(response, operation) }
        return try Self.decode(response, operation)
    }

    /// `POST /api/v1/dtma/calls/{id}/answer`. The body, which may hold refreshed credentials, is wiped once sent.
    public func answer(_ callID: UUID, _ answer: RelayedAnswer) async throws(DTMAError) {
        let operation = "POST /api/v1/dtma/calls/{id}/answer"
        var request = try post("/api/v1/dtma/calls/\(callID.uuidString.lowercased())/answer", answer)
        defer { request.body.withUnsafeMutableBytes { SecretBytes.wipe($0) } }
        let response = try await exchange(request, operation)
        guard response.isSuccess else { throw Self.failure(response, operation) }
    }

    /// `POST /api/v1/dtma/credentials` with a call's ticket: the agent's credentials for that one call. A 403 is the
    /// appliance's denial (its code names the rule); anything else that is not a hand-out makes the call `unavailable`.
    public func redeem(_ ticket: String) async throws(ToolCallError) -> CredentialGrant {
        let operation = "POST /api/v1/dtma/credentials"
        var body = Array(#"{"ticket":"#.utf8) + Array(JSONValue.string(ticket).jsonText.utf8) + [UInt8(ascii: "}")]
        let request = HTTPRequest(
            .post, url: settings.applianceURL + "/api/v1/dtma/credentials", headers: ["Content-Type": "application/json", "Accept": "application/json"],
            body: body)
        body.withUnsafeMutableBytes { SecretBytes.wipe($0) }
        let response: HTTPResponse
        do {
            response = try await exchange(request, operation)
        } catch {
            throw ToolCallError(.unavailable, "credentials_unavailable", "the toolbox could not reach the appliance's credential hand-out: \(error.message)")
        }
        guard response.status == 200 else {
            let failure = Self.failure(response, operation)
            if response.status == 403 {
                throw ToolCallError(.denied, failure.applianceCode ?? "denied", Self.errorMessage(response) ?? "the appliance denied the credentials")
            }
            throw ToolCallError(.unavailable, failure.applianceCode ?? "credentials_unavailable", failure.message)
        }
        return try Self.grant(response.body)
    }

    /// Reads a hand-out: the binding and the `credentials` object, whose bytes go into `SecretBytes` only.
    static func grant(_ body: [UInt8]) throws(ToolCallError) -> CredentialGrant {
        let unreadable = ToolCallError(.unavailable, "handout_unreadable", "the appliance's credential hand-out could not be read")
        guard case .object(let fields)? = try? JSONValue(parsing: body),
            case .string(let agent)? = fields["agent_id"], let agentID = UUID(uuidString: agent),
            case .string(let instance)? = fields["instance_id"], let instanceID = UUID(uuidString: instance),
            case .string(let capability)? = fields["capability"], case .string(let requestID)? = fields["request_id"],
            case .string(let credential)? = fields["credential_id"], let credentialID = UUID(uuidString: credential),
            let credentials = fields["credentials"], case .object = credentials
        else { throw unreadable }
        var text = credentials.jsonText
        let secret = text.withUTF8 { SecretBytes(copying: UnsafeRawBufferPointer($0)) }
        text.withUTF8 { SecretBytes.wipe(UnsafeMutableRawBufferPointer(mutating: UnsafeRawBufferPointer($0))) }
        return CredentialGrant(agentID: agentID, instanceID: instanceID, capability: capability, requestID: requestID, credentialID: credentialID, secret: secret)
    }

    /// `GET /api/v1/dtma/agent-binary` into `path` (created 0600), hashing as it arrives: the served version and the SHA-256 (lowercase hex).
    public func downloadAgent(to path: String) async throws(DTMAError) -> (version: String?, sha256: String) {
        let operation = "GET /api/v1/dtma/agent-binary"
        var request = HTTPRequest(.get, url: settings.applianceURL + "/api/v1/dtma/agent-binary", timeout: .seconds(600))
        if let token { request.headers.add("Authorization", "Bearer " + token) }
        let response: HTTPStreamingResponse
        do {
            response = try await downloads.stream(request)
        } catch {
            throw DTMAError(.connection, "\(operation): \(error.message)")
        }
        guard response.status == 200 else {
            let body = (try? await response.collect()) ?? []
            throw Self.failure(HTTPResponse(status: response.status, headers: response.headers, body: body), operation)
        }
        guard let file = FileHandle(forWritingAtPath: path) ?? Self.create(path) else {
            throw DTMAError(.state, "cannot write \(path)")
        }
        // Writing and hashing happen on a serial queue of their own, off Swift's cooperative pool.
        let sink = DownloadSink(file)
        var size = 0
        do {
            for try await piece in response.body {
                size += piece.count
                guard size <= 1 << 30 else { throw DTMAError(.update, "\(operation): the binary is larger than 1 GiB") }
                sink.append(piece)
            }
        } catch let error as DTMAError {
            _ = await sink.finish()
            throw error
        } catch {
            _ = await sink.finish()
            throw DTMAError(.connection, "\(operation): \((error as? HTTPClientError)?.message ?? "\(error)")")
        }
        switch await sink.finish() {
        case .success(let digest):
            return (response.headers["Agentbox-Version"], digest)
        case .failure(let failure):
            throw DTMAError(.state, "cannot write \(path): \(failure.message)")
        }
    }

    private static func create(_ path: String) -> FileHandle? {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else { return nil }
        return FileHandle(forWritingAtPath: path)
    }

    // MARK: - Plumbing

    private func post(_ path: String, _ value: some Encodable) throws(DTMAError) -> HTTPRequest {
        let body: Data
        do {
            body = try ToolboxProtocolCoding.encoder().encode(value)
        } catch {
            throw DTMAError(.refused, "cannot encode the body of POST \(path): \(error)")
        }
        return HTTPRequest(.post, url: settings.applianceURL + path, headers: ["Content-Type": "application/json", "Accept": "application/json"], body: body)
    }

    private func exchange(_ request: HTTPRequest, _ operation: String) async throws(DTMAError) -> HTTPResponse {
        try await exchange(request, operation, token: token)
    }

    private func exchange(_ request: HTTPRequest, _ operation: String, token: String?) async throws(DTMAError) -> HTTPResponse {
        var request = request
        if let token { request.headers.add("Authorization", "Bearer " + token) }
        do {
            return try await client.send(request)
        } catch {
            if error.code == .cancelled { throw DTMAError(.connection, "\(operation): cancelled") }
            let hint = error.code == .tls && settings.pin != nil ? " (is \(DTMASettings.pinVariable) the appliance's current key pin?)" : ""
            throw DTMAError(.connection, "\(operation): \(error.message)\(hint)")
        }
    }

    /// An error answer as a ``DTMAError``: 401 is `unauthorized`, the rest `refused`, with the appliance's code and message.
    static func failure(_ response: HTTPResponse, _ operation: String) -> DTMAError {
        let code = errorCode(response)
        let message = errorMessage(response).map { "\(operation): the appliance answered \(response.status) \(code ?? ""): \($0)" }
            ?? "\(operation): the appliance answered HTTP \(response.status)"
        return DTMAError(response.status == 401 ? .unauthorized : .refused, message, applianceCode: code, status: response.status)
    }

    private static func errorField(_ response: HTTPResponse, _ name: String) -> String? {
        guard case .object(let fields)? = try? JSONValue(parsing: response.body), case .object(let error)? = fields["error"],
            case .string(let value)? = error[name]
        else { return nil }
        return String(value.prefix(500))
    }

    static func errorCode(_ response: HTTPResponse) -> String? { errorField(response, "code") }
    static func errorMessage(_ response: HTTPResponse) -> String? { errorField(response, "message") }

    private static func decode<T: Decodable>(_ response: HTTPResponse, _ operation: String) throws(DTMAError) -> T {
        do {
            return try ToolboxProtocolCoding.decoder().decode(T.self, from: response.data)
        } catch {
            throw DTMAError(.refused, "\(operation): the appliance's answer could not be read (\(error)); is the appliance the same agentbox version?")
        }
    }
}

/// Writes a download's pieces to its file and hashes them, in order, on a serial queue of its own.
private final class DownloadSink: @unchecked Sendable {
    private let queue = DispatchQueue(label: "agentbox.dtma.download")
    // Touched only on `queue`.
    private let file: FileHandle
    private var hasher = SHA256()
    private var failure: String?

    init(_ file: FileHandle) {
        self.file = file
    }

    func append(_ piece: [UInt8]) {
        queue.async {
            guard self.failure == nil else { return }
            self.hasher.update(data: piece)
            do {
                try self.file.write(contentsOf: piece)
            } catch {
                self.failure = error.localizedDescription
            }
        }
    }

    /// Waits for every piece, syncs and closes the file: the SHA-256 (lowercase hex), or why the file could not be written.
    func finish() async -> Result<String, FinishFailure> {
        await withCheckedContinuation { continuation in
            queue.async {
                if self.failure == nil {
                    do {
                        try self.file.synchronize()
                    } catch {
                        self.failure = error.localizedDescription
                    }
                }
                try? self.file.close()
                if let failure = self.failure {
                    continuation.resume(returning: .failure(FinishFailure(message: failure)))
                } else {
                    continuation.resume(returning: .success(SelfUpdate.hex(self.hasher.finalize())))
                }
            }
        }
    }

    struct FinishFailure: Error {
        let message: String
    }
}

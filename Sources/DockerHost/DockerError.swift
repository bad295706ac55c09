import HTTPClient

/// Why a Docker Engine API call failed, with the engine's own message.
///
/// Match on `code`; show `message`, which names the operation, carries Docker's words verbatim
/// (`dockerMessage`) and, when agentbox knows, what to do about it. A message never holds registry
/// credentials or any header value.
public struct DockerError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure; a struct so that kinds can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case engineUnreachable = "engine unreachable"
            case engineTooOld = "engine too old"
            case notFound = "not found"
            case conflict = "conflict"
            case pullFailed = "pull failed"
            case portInUse = "port in use"
            case badRequest = "bad request"
            case server = "engine error"
            case protocolError = "protocol error"
            case timedOut = "timed out"
            case cancelled = "cancelled"
        }

        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// Nothing answers on the engine's socket (dockerd stopped, socket missing, no permission).
        public static let engineUnreachable = Code(.engineUnreachable)
        /// The engine speaks an API older than 1.41 (Docker 20.10).
        public static let engineTooOld = Code(.engineTooOld)
        /// No such container or image (HTTP 404).
        public static let notFound = Code(.notFound)
        /// The name is taken, the container is in the wrong state, a removal is under way (HTTP 409).
        public static let conflict = Code(.conflict)
        /// An image pull failed: unknown image or tag, registry unreachable, credentials missing or wrong.
        public static let pullFailed = Code(.pullFailed)
        /// Starting a container failed because its host port is taken.
        public static let portInUse = Code(.portInUse)
        /// The engine refused the request's parameters (HTTP 400).
        public static let badRequest = Code(.badRequest)
        /// The engine failed (HTTP 5xx, or any other status it does not document).
        public static let server = Code(.server)
        /// The engine answered something that is not what its API describes.
        public static let protocolError = Code(.protocolError)
        /// The engine took longer than the call's time limit.
        public static let timedOut = Code(.timedOut)
        /// The calling task was cancelled.
        public static let cancelled = Code(.cancelled)

        public var description: String { kind.rawValue }
    }

    public let code: Code
    /// The whole message: the operation, Docker's words, and what to do when agentbox knows.
    public let message: String
    /// The engine's own message (the `message` field of its JSON answer, or a pull's `error` line).
    public let dockerMessage: String?
    /// The HTTP status of the engine's answer, when there was one.
    public let status: Int?

    public init(_ code: Code, _ message: String, dockerMessage: String? = nil, status: Int? = nil) {
        self.code = code
        self.message = message
        self.dockerMessage = dockerMessage
        self.status = status
    }

    public var description: String { message }

    /// A pull that failed because its registry could not be reached or failed on its side (refused or dropped
    /// connection, timeout, 5xx, rate limit): trying again later may work. A name that does not resolve, a
    /// refused login or an unknown image is not one: trying again gives the same answer.
    public var isRegistryOutage: Bool {
        guard code == .pullFailed else { return false }
        let text = (dockerMessage ?? message).lowercased()
        return PullHints.outageSigns.contains { text.contains($0) }
    }
}

extension DockerError {
    /// The error for a transfer that got no answer from the engine.
    static func transport(_ error: HTTPClientError, _ operation: String, socketPath: String) -> DockerError {
        switch error.code {
        case .couldNotConnect:
            let hint =
                error.message.contains("ermission")
                ? "agentbox's user may not open \(socketPath): run it as root or add the user to the docker group"
                : "is dockerd running? start it with `systemctl start docker`"
            return DockerError(.engineUnreachable, "\(operation): the Docker engine does not answer on \(socketPath) (\(error.message)); \(hint)")
        case .timedOut:
            return DockerError(.timedOut, "\(operation): the Docker engine did not answer in time (\(error.message))")
        case .cancelled:
            return DockerError(.cancelled, "\(operation): cancelled")
        case .transfer:
            return DockerError(
                .engineUnreachable,
                "\(operation): the connection to the Docker engine on \(socketPath) broke (\(error.message)); is dockerd still running?")
        default:
            return DockerError(.protocolError, "\(operation): \(error.message)")
        }
    }

    /// The error for an answer with a status that the call does not expect.
    static func answer(status: Int, body: [UInt8], _ operation: String, pull: Bool = false) -> DockerError {
        let docker = EngineMessage.decode(body)
        let text = docker ?? "HTTP \(status) without a message"
        let code: Code
        var hint: String?
        if pull {
            code = .pullFailed
            hint = PullHints.hint(for: text)
        } else if text.contains("address already in use") || text.contains("port is already allocated") {
            code = .portInUse
            hint = "another process holds that host port: choose another one or stop that process"
        } else {
            switch status {
            case 400: code = .badRequest
            case 404: code = .notFound
            case 409: code = .conflict
            default: code = .server
            }
        }
        let message = "\(operation): \(text)" + (hint.map { "; \($0)" } ?? "")
        return DockerError(code, message, dockerMessage: docker, status: status)
    }

    static func unreadable(_ operation: String, _ what: String) -> DockerError {
        DockerError(.protocolError, "\(operation): the Docker engine answered something agentbox cannot read (\(what))")
    }
}

/// What agentbox can add to a registry's reason for a failed pull.
enum PullHints {
    /// Words of the engine's message for a registry that is down or overloaded, not wrong.
    static let outageSigns = [
        "connection refused", "connection reset", "i/o timeout", "tls handshake timeout", "timeout exceeded", "unexpected eof",
        "500 internal server error", "502 bad gateway", "503 service unavailable", "504 gateway timeout", "toomanyrequests",
        "429 too many requests",
    ]

    static func hint(for message: String) -> String? {
        let lowered = message.lowercased()
        if lowered.contains("no basic auth credentials") || lowered.contains("authentication required") || lowered.contains("unauthorized")
            || lowered.contains("denied")
        {
            return "the registry needs authentication: check the registry username and password"
        }
        if lowered.contains("manifest unknown") || lowered.contains("not found") {
            return "check the image name and tag"
        }
        if lowered.contains("connection refused") || lowered.contains("no such host") || lowered.contains("i/o timeout") {
            return "the registry cannot be reached from the Docker engine's host"
        }
        return nil
    }
}

/// Why the droplet's DTMA (`agentbox dtma`) could not do something: a code to match on and a message for a person,
/// which names the setting, file or answer at fault and what to do. It never holds a token, a ticket or a credential.
public struct DTMAError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// A setting (environment variable or option) is missing or wrong.
        case settings
        /// A file or folder of the agent's state could not be read or written.
        case state
        /// The appliance could not be reached (connection, TLS, time-out).
        case connection
        /// The appliance refused the toolbox token (401): the toolbox was deprovisioned or its token revoked.
        case unauthorized
        /// The appliance refused the request (an error answer other than 401), or answered something unreadable.
        case refused
        /// Enrollment failed: the enrollment token was refused or the answer names another toolbox.
        case enrollment
        /// A self-update failed: download, checksum, self-test or start of the new binary.
        case update
        /// The Docker engine does not answer.
        case docker
    }

    public let code: Code
    public let message: String
    /// The appliance's error code (`{"error": {"code"}}`), when the appliance answered with one.
    public let applianceCode: String?
    /// The HTTP status of the appliance's answer, when there was one.
    public let status: Int?

    public init(_ code: Code, _ message: String, applianceCode: String? = nil, status: Int? = nil) {
        self.code = code
        self.message = message
        self.applianceCode = applianceCode
        self.status = status
    }

    public var description: String { message }
}

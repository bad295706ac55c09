/// The one error type of the services layer: a code to match on and a message for people.
public struct ServiceError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, as a value callers can match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case dataDirectoryInUse = "data_directory_in_use"
            case dataDirectoryUnusable = "data_directory_unusable"
            case notInitialized = "not_initialized"
            case notFound = "not_found"
            case invalidRequest = "invalid_request"
            case unauthenticated = "unauthenticated"
            case forbidden = "forbidden"
            case conflict = "conflict"
            case invalidState = "invalid_state"
            case unprocessable = "unprocessable"
            case unavailable = "unavailable"
            case badGateway = "bad_gateway"
            case gatewayTimeout = "gateway_timeout"
            case rateLimited = "rate_limited"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Another agentbox process holds the data directory's lock.
        public static let dataDirectoryInUse = Code(.dataDirectoryInUse)
        /// The data directory cannot be created, read or locked.
        public static let dataDirectoryUnusable = Code(.dataDirectoryUnusable)
        /// The data directory has no database or vault yet.
        public static let notInitialized = Code(.notInitialized)
        /// A row does not exist (or is not the caller's).
        public static let notFound = Code(.notFound)
        /// The request is malformed: missing or wrong-typed fields, bad parameters.
        public static let invalidRequest = Code(.invalidRequest)
        /// No token, or a token that is malformed, unknown, revoked or expired.
        public static let unauthenticated = Code(.unauthenticated)
        /// The caller is known but may not do this.
        public static let forbidden = Code(.forbidden)
        /// The change clashes with existing rows (a duplicate name, children that still exist).
        public static let conflict = Code(.conflict)
        /// A status change that the state machine does not allow.
        public static let invalidState = Code(.invalidState)
        /// Well-formed input that breaks a rule (e.g. a config that does not match the tool's schema).
        public static let unprocessable = Code(.unprocessable)
        /// Something the request needs does not answer now (e.g. the Docker engine); retrying later may work.
        public static let unavailable = Code(.unavailable)
        /// Something behind the appliance (a tool) answered badly or not at all.
        public static let badGateway = Code(.badGateway)
        /// Something behind the appliance (a tool) did not answer in time.
        public static let gatewayTimeout = Code(.gatewayTimeout)
        /// The caller sent too many requests of a kind (e.g. failed token checks); ``ServiceError/retryAfter`` says when to retry.
        public static let rateLimited = Code(.rateLimited)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String
    /// A finer code for callers that act on it, e.g. `capability_denied` or `ticket_used`; the API shows it instead of ``code``.
    public let reason: String?
    /// Seconds after which a refused request may be retried (``Code/rateLimited``).
    public let retryAfter: Int?

    public init(_ code: Code, _ message: String, reason: String? = nil, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.reason = reason
        self.retryAfter = retryAfter
    }

    public var description: String { message }
}

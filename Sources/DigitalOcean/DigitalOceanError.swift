import HTTPClient

/// Why a DigitalOcean API call failed: DigitalOcean's own `id`, `message` and request id when it answered, or
/// what kept the answer from arriving. A message never holds the API token.
public struct DigitalOceanError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure; a struct so that kinds can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case unauthorized, notFound = "not found", unprocessable, rateLimited = "rate limited", server = "server error"
            case unreachable, unexpectedAnswer = "unexpected answer", cancelled
        }

        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// The token is missing, wrong or revoked (401, or 403 for a token without the needed scope).
        public static let unauthorized = Code(.unauthorized)
        /// No such droplet, action or route (404).
        public static let notFound = Code(.notFound)
        /// DigitalOcean refused the request's values: a bad name, an unknown size or region, the droplet limit (422 and other 4xx).
        public static let unprocessable = Code(.unprocessable)
        /// Still rate limited after the retries (429).
        public static let rateLimited = Code(.rateLimited)
        /// DigitalOcean failed (5xx) after the retries.
        public static let server = Code(.server)
        /// No answer: the connection failed, broke or timed out, after the retries.
        public static let unreachable = Code(.unreachable)
        /// An answer agentbox cannot read.
        public static let unexpectedAnswer = Code(.unexpectedAnswer)
        /// The calling task was cancelled.
        public static let cancelled = Code(.cancelled)

        public var description: String { kind.rawValue }
    }

    public let code: Code
    /// The HTTP status, when DigitalOcean answered.
    public let status: Int?
    /// DigitalOcean's error id, e.g. `unprocessable_entity`.
    public let id: String?
    /// What went wrong, naming the operation; DigitalOcean's own message verbatim when it gave one.
    public let message: String
    /// DigitalOcean's request id (the `x-request-id` header or the body's `request_id`), for its support.
    public let requestID: String?
    /// How long a 429 asked the client to wait (`retry-after`).
    var retryAfter: Duration?

    public init(_ code: Code, _ message: String, status: Int? = nil, id: String? = nil, requestID: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.id = id
        self.requestID = requestID
    }

    public var description: String {
        var text = message
        if let id { text += " (\(id)" + (status.map { ", HTTP \($0)" } ?? "") + ")" }
        if let requestID { text += " [request id \(requestID)]" }
        return text
    }

    /// Whether another try may succeed: connection errors, 429 and 5xx other than 501.
    var isRetryable: Bool {
        switch code {
        case .unreachable, .rateLimited: true
        case .server: status != 501
        default: false
        }
    }
}

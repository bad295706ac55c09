/// Why a request got no HTTP response. A response with any status, even 500, is not an error.
///
/// Match on `code`:
/// ```swift
/// do { _ = try await client.send(request) }
/// catch let error as HTTPClientError where error.code == .couldNotConnect { ... }
/// ```
/// The message names the method, the URL without its query or user info, and libcurl's own
/// explanation; it never holds a header value or a body.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; a struct so that kinds can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case couldNotConnect = "could not connect"
            case couldNotResolveHost = "could not resolve host"
            case timedOut = "timed out"
            case invalidURL = "invalid URL"
            case invalidRequest = "invalid request"
            case tls = "TLS failure"
            case responseTooLarge = "response too large"
            case cancelled = "cancelled"
            case transfer = "transfer failed"
            case unavailable = "HTTP client unavailable"
        }

        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// Nothing listens at the address or socket, or the connection was refused.
        public static let couldNotConnect = Code(.couldNotConnect)
        /// The host name did not resolve.
        public static let couldNotResolveHost = Code(.couldNotResolveHost)
        /// The connect or the whole-request time limit passed.
        public static let timedOut = Code(.timedOut)
        /// The URL is malformed or not `http`/`https`.
        public static let invalidURL = Code(.invalidURL)
        /// A header name or value is not allowed (for example it holds a line break).
        public static let invalidRequest = Code(.invalidRequest)
        /// The TLS handshake or the certificate check failed.
        public static let tls = Code(.tls)
        /// The body passed the client's size limit.
        public static let responseTooLarge = Code(.responseTooLarge)
        /// The calling task was cancelled.
        public static let cancelled = Code(.cancelled)
        /// The connection broke or the server answered something that is not HTTP.
        public static let transfer = Code(.transfer)
        /// libcurl or a thread for it could not be set up.
        public static let unavailable = Code(.unavailable)

        public var description: String { kind.rawValue }
    }

    public let code: Code
    public let message: String
    /// libcurl's result code (`CURLcode`), when libcurl reported the failure.
    public let curlCode: Int?

    public init(_ code: Code, _ message: String, curlCode: Int? = nil) {
        self.code = code
        self.message = message
        self.curlCode = curlCode
    }

    public var description: String { message }
}

import Hummingbird

/// An error answer in DigitalOcean's shape: `{"id", "message", "request_id"}` with its status.
struct StandInError: Error, Sendable {
    let status: HTTPResponse.Status
    /// DigitalOcean's error id, e.g. `unprocessable_entity`.
    let id: String
    let message: String
    /// Seconds to send as `retry-after` (429 only).
    let retryAfter: Int?

    init(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.id = Self.id(of: status)
        self.message = message
        self.retryAfter = retryAfter
    }

    static let unauthorized = StandInError(.unauthorized, "Unable to authenticate you")
    static let notFound = StandInError(.notFound, "The resource you were accessing could not be found.")

    static func badRequest(_ message: String) -> StandInError { StandInError(.badRequest, message) }
    static func unprocessable(_ message: String) -> StandInError { StandInError(.unprocessableContent, message) }
    static func tooManyRequests(retryAfter: Int) -> StandInError {
        StandInError(.tooManyRequests, "API Rate limit exceeded.", retryAfter: retryAfter)
    }

    static let serverError = StandInError(.internalServerError, "Server was unable to give you a response.")

    /// An injected failure (400-599) with the body DigitalOcean sends for that status.
    static func injected(status code: Int) -> StandInError {
        let status = namedStatuses.first { $0.code == code } ?? HTTPResponse.Status(code: code, reasonPhrase: "HTTP \(code)")
        return status == .internalServerError ? .serverError : StandInError(status, status.reasonPhrase)
    }

    /// Statuses with their reason phrases (`HTTPResponse.Status(code:)` has none).
    private static let namedStatuses: [HTTPResponse.Status] = [
        .badRequest, .unauthorized, .forbidden, .notFound, .methodNotAllowed, .requestTimeout, .conflict, .gone, .unprocessableContent,
        .tooManyRequests, .internalServerError, .notImplemented, .badGateway, .serviceUnavailable, .gatewayTimeout,
    ]

    /// DigitalOcean's ids for the statuses it documents; the reason phrase in snake case for the others.
    private static func id(of status: HTTPResponse.Status) -> String {
        switch status {
        case .unauthorized: "unauthorized"
        case .notFound: "not_found"
        case .unprocessableContent: "unprocessable_entity"
        case .tooManyRequests: "too_many_requests"
        case .internalServerError: "server_error"
        default: status.reasonPhrase.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).joined(separator: "_")
        }
    }

    /// The answer's body.
    func body(requestID: String) -> JSONValue {
        ["id": .string(id), "message": .string(message), "request_id": .string(requestID)]
    }
}

/// Thrown to end the connection without any answer, as a network failure would.
struct DroppedConnection: Error {}

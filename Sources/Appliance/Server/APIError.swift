import Foundation
import HTTPTypes
import Hummingbird
import Services
import Storage

/// The one error shape of the API: `{"error": {"code", "message", "request_id"}}`, with its status.
///
/// Every error a route throws comes through here, so codes map to statuses in one place and
/// nothing else (a stack trace, SQL, a secret) ever reaches a response.
struct APIError: Error {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    /// Seconds to wait before retrying (a `Retry-After` header).
    var retryAfter: Int?

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    /// The API's view of any error; `internal` for anything unexpected (whose details go to the log only).
    init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as ServiceError:
            self.init(Self.status(of: error.code), error.reason ?? error.code.description, error.message, retryAfter: error.retryAfter)
        case let error as StorageError:
            self.init(storage: error)
        case let error as any HTTPResponseError:
            let status = error.status
            switch status {
            case .notFound: self.init(status, "not_found", "no such route; see /api/v1/openapi.json for the routes")
            case .contentTooLarge: self.init(status, "payload_too_large", "the request body is larger than 1 MiB")
            case .methodNotAllowed: self.init(status, "method_not_allowed", "this route does not take that method")
            default: self.init(status, "http_\(status.code)", status.reasonPhrase)
            }
        default:
            self.init(.internalServerError, "internal", "agentbox failed to handle this request; the log has the details")
        }
    }

    private init(storage error: StorageError) {
        switch error.code {
        case .notFound: self.init(.notFound, "not_found", error.message)
        case .uniqueViolation: self.init(.conflict, "conflict", error.message)
        case .foreignKeyViolation: self.init(.conflict, "conflict", error.message)
        case .checkViolation, .notNullViolation: self.init(.unprocessableContent, "unprocessable", error.message)
        case .busy: self.init(.serviceUnavailable, "busy", "the database is busy; retry shortly")
        case .diskFull:
            self.init(
                .serviceUnavailable, "disk_full",
                "the disk of the data directory is full: this change was not written (nothing written before is lost); "
                    + "free space on that disk, then retry", retryAfter: 30)
        case .io, .readOnly:
            self.init(
                .serviceUnavailable, "storage_unavailable",
                "the data directory cannot be written now (\(error.message)); this change was not written; fix the disk, then retry",
                retryAfter: 30)
        default: self.init(.internalServerError, "internal", "agentbox failed to handle this request; the log has the details")
        }
    }

    /// The HTTP status of a service error code (the console answers with the same ones).
    static func status(of code: ServiceError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidRequest: .badRequest
        case .unauthenticated: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict, .invalidState, .dataDirectoryInUse: .conflict
        case .unprocessable: .unprocessableContent
        case .unavailable: .serviceUnavailable
        case .badGateway: .badGateway
        case .gatewayTimeout: .gatewayTimeout
        case .rateLimited: .tooManyRequests
        default: .internalServerError
        }
    }

    /// The JSON response.
    func response(requestID: String) -> Response {
        let body = ErrorBody(error: .init(code: code, message: message, requestID: requestID))
        var response = (try? JSONResponse.encode(body, status: status)) ?? Response(status: status)
        if status == .unauthorized {
            response.headers[.wwwAuthenticate] = #"Bearer realm="agentbox""#
        }
        if let retryAfter {
            response.headers[.retryAfter] = String(retryAfter)
        }
        return response
    }

    private struct ErrorBody: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
            let requestID: String

            enum CodingKeys: String, CodingKey {
                case code, message
                case requestID = "request_id"
            }
        }
        let error: Detail
    }
}

/// Turns every error thrown below it into the API's error shape, and logs the unexpected ones.
struct APIErrorMiddleware: RouterMiddleware {
    typealias Context = APIContext

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError(error)
            if apiError.status.kind == .serverError {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            }
            return apiError.response(requestID: context.id)
        }
    }
}

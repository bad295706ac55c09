import Foundation
import Hummingbird
import Logging

/// Around every route: the request id, bearer authentication, rate limits, the scripted faults and latency,
/// DigitalOcean's error shape and headers, and the request log.
///
/// `/v2` requests count against the rate limits, meet the faults and go into the log; the control API
/// under `/_sim/` needs the same token but does none of that.
struct StandInMiddleware: RouterMiddleware {
    typealias Context = StandInContext

    let state: StandInState
    let token: String
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requestID = UUID().uuidString.lowercased()
        let now = Date()
        let presented = Self.bearerToken(request)
        let path = request.uri.path
        var response: Response?
        let rateLimit: RateLimitStatus
        if path == "/_sim" || path.hasPrefix("/_sim/") {
            rateLimit = await state.rateLimitStatus(token: presented, now: now)
            response = presented == token ? await answer(request, context, next, requestID) : StandInError.unauthorized.response(requestID: requestID)
        } else {
            let admission = await state.admit(token: presented, authorized: presented == token, method: request.method.rawValue, path: path, now: now)
            if admission.latencyMilliseconds > 0 { try await Task.sleep(for: .milliseconds(admission.latencyMilliseconds)) }
            rateLimit = admission.rateLimit
            switch admission.verdict {
            case .proceed: response = await answer(request, context, next, requestID)
            case .reject(let error): response = error.response(requestID: requestID)
            case .drop: response = nil
            }
            let status = response.map { Int($0.status.code) } ?? 0
            await state.log(RequestLogEntry(method: request.method.rawValue, path: path, query: request.uri.query ?? "", status: status))
        }
        guard var response else {
            logger.info("\(request.method) \(request.uri): connection dropped (scripted fault)", metadata: ["request_id": "\(requestID)"])
            await context.dropConnection()
            return Response(status: .internalServerError)
        }
        response.headers[.requestID] = requestID
        response.headers[.rateLimitLimit] = String(rateLimit.limit)
        response.headers[.rateLimitRemaining] = String(rateLimit.remaining)
        response.headers[.rateLimitReset] = String(rateLimit.reset)
        logger.info("\(request.method) \(request.uri) \(response.status.code)", metadata: ["request_id": "\(requestID)"])
        return response
    }

    /// The route's answer, any error in DigitalOcean's shape; nil when the route dropped the connection.
    private func answer(_ request: Request, _ context: Context, _ next: (Request, Context) async throws -> Response, _ requestID: String) async
        -> Response?
    {
        do {
            return try await next(request, context)
        } catch is DroppedConnection {
            return nil
        } catch let error as StandInError {
            return error.response(requestID: requestID)
        } catch let error as any HTTPResponseError {
            switch error.status {
            case .notFound: return StandInError.notFound.response(requestID: requestID)
            case .contentTooLarge: return StandInError(.contentTooLarge, "The request body is larger than 1 MiB.").response(requestID: requestID)
            default: return StandInError(error.status, error.status.reasonPhrase).response(requestID: requestID)
            }
        } catch {
            logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return StandInError.serverError.response(requestID: requestID)
        }
    }

    /// The token of `Authorization: Bearer <token>`; empty when there is none.
    private static func bearerToken(_ request: Request) -> String {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return "" }
        return header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
    }
}

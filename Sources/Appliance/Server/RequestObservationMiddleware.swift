import HTTPTypes
import Hummingbird
import Logging

/// Outermost middleware: one log line and the metrics of every request, with its final status (after
/// ``APIErrorMiddleware`` turned errors into answers), and the request id in an `X-Request-Id` header.
///
/// Every line logged for a request carries `request_id`: Hummingbird puts its id in the request's logger metadata
/// and the log handlers print it under that name (`Logging/JSONLogHandler.swift`). Routes are named by their
/// template (`Endpoint.path`); a path that matched no route is `unmatched`, so no raw path or id reaches a label.
struct RequestObservationMiddleware: RouterMiddleware {
    typealias Context = APIContext

    static let requestIDHeader = HTTPField.Name("X-Request-Id")!

    let metrics: ServerMetrics
    /// Every `Endpoint.path`.
    let routes: Set<String>
    /// Routes for machines (probes, scrapes), logged at debug so they do not flood the log.
    let quietRoutes: Set<String>

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        let clock = ContinuousClock()
        let start = clock.now
        var status = 500
        defer {
            // The console's route templates (`/console/...`, parameters as `:id`) and `/mcp` hold no id either.
            let route = context.endpointPath.flatMap { routes.contains($0) || $0.hasPrefix("/console") || $0 == "/mcp" ? $0 : nil } ?? "unmatched"
            let duration = clock.now - start
            metrics.recordRequest(method: request.method.rawValue, route: route, status: status, duration: duration)
            let milliseconds = Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15
            context.logger.log(
                level: quietRoutes.contains(route) ? .debug : .info, "request",
                metadata: [
                    "method": "\(request.method.rawValue)", "route": "\(route)", "status": "\(status)",
                    "duration_ms": "\((milliseconds * 1_000).rounded() / 1_000)",
                ])
        }
        do {
            var response = try await RequestSource.$address.withValue(context.clientAddress) { try await next(request, context) }
            status = response.status.code
            response.headers[Self.requestIDHeader] = context.id
            return response
        } catch let error as any HTTPResponseError {
            status = error.status.code
            throw error
        }
    }
}

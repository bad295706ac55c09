import Foundation
import HTTPClient
import JSONSchema

/// The CLI's client of the agentbox API: JSON in and out, API errors turned into one clear line.
///
/// A command may only call the routes it declares, so the list that the coverage test reads is
/// the list of what the commands really call.
struct APIClient: Sendable {
    /// The server's base URL, without a trailing slash.
    let server: String
    let token: String?
    /// The routes the command declared.
    let routes: Set<APIRoute>
    let http: HTTPClient

    init(
        server: String, token: String?, routes: [APIRoute],
        http: HTTPClient = HTTPClient(configuration: .init(connectTimeout: .seconds(5), timeout: .seconds(120)))
    ) {
        self.server = server
        self.token = token
        self.routes = Set(routes)
        self.http = http
    }

    /// A successful answer.
    struct Reply: Sendable {
        let status: Int
        let body: [UInt8]

        /// The body as text, as the server sent it.
        var text: String { String(decoding: body, as: UTF8.self) }

        /// The body parsed as JSON (`null` when empty).
        var json: JSONValue {
            get throws {
                if body.isEmpty { return .null }
                do {
                    return try JSONValue(parsing: body)
                } catch {
                    throw CLIError("the server answered with something that is not JSON (\(error.message))")
                }
            }
        }
    }

    /// Calls a route; throws a `CLIError` for a failed exchange or an error answer (status 400 and up).
    func send(
        _ route: APIRoute, _ parameters: [String: String] = [:], query: [(String, String?)] = [], body: JSONValue? = nil
    ) async throws -> Reply {
        try await send(route, parameters, query: query, rawBody: body.map { Array($0.jsonText.utf8) })
    }

    /// Calls a route with a body that is already JSON text.
    func send(_ route: APIRoute, _ parameters: [String: String] = [:], query: [(String, String?)] = [], rawBody: [UInt8]?) async throws -> Reply {
        guard routes.contains(route) else { throw CLIError("internal error: this command calls \(route) without declaring it") }
        var url = server + (try route.path(parameters))
        let items = query.compactMap { name, value in value.map { APIRoute.percentEncoded(name) + "=" + APIRoute.percentEncoded($0) } }
        if !items.isEmpty { url += "?" + items.joined(separator: "&") }
        var headers: HTTPHeaders = ["Accept": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        if rawBody != nil { headers["Content-Type"] = "application/json" }
        let response: HTTPResponse
        do {
            response = try await http.send(HTTPRequest(.init(rawValue: route.method), url: url, headers: headers, body: rawBody ?? []))
        } catch {
            throw Self.unreachable(server, error)
        }
        guard response.status < 400 else { throw Self.failure(response) }
        return Reply(status: response.status, body: response.body)
    }

    /// The message for an error answer: the API's own message and code, with a hint for a bad token.
    static func failure(_ response: HTTPResponse) -> CLIError {
        if case .object(let object)? = try? JSONValue(parsing: response.body), case .object(let error)? = object["error"],
            case .string(let message)? = error["message"], case .string(let code)? = error["code"]
        {
            var text = "\(message) (\(code))"
            if response.status == 401 {
                text += "; check the token, or run `agentbox login --server URL --token -`"
            }
            return CLIError(text)
        }
        return CLIError("the server answered HTTP \(response.status) without an agentbox error; is this an agentbox server?")
    }

    /// The message for a server that could not be reached: which one, and what to check.
    static func unreachable(_ server: String, _ error: HTTPClientError) -> CLIError {
        let fix = "Is `agentbox serve` running there? Point to another server with --server URL or AGENTBOX_SERVER, "
            + "or save one with `agentbox login --server URL`."
        switch error.code {
        case .couldNotConnect:
            return CLIError("cannot connect to the agentbox server at \(server) (nothing answered). \(fix)")
        case .couldNotResolveHost:
            return CLIError("cannot find the host of the agentbox server at \(server). \(fix)")
        case .timedOut:
            return CLIError("the agentbox server at \(server) did not answer in time. \(fix)")
        case .invalidURL:
            return CLIError("the server URL \(server) is not a valid http or https URL")
        default:
            return CLIError("cannot talk to the agentbox server at \(server): \(error.message)")
        }
    }
}

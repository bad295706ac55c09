import Foundation
import HTTPTypes
import Hummingbird
import JSONSchema
import Services
import Storage

/// One route of the API, declared as data so the router, the OpenAPI test and the isolation test
/// all enumerate the same list.
struct Endpoint: Sendable {
    /// Who may call a route.
    enum Access: Sendable {
        /// No token needed (health, the OpenAPI description).
        case anyone
        /// Any valid token; the service decides what the caller may see.
        case authenticated
    }

    let method: HTTPRequest.Method
    /// The path in OpenAPI form, e.g. `/api/v1/agents/{id}`.
    let path: String
    let access: Access
    let handler: @Sendable (Call) async throws -> Response

    init(_ method: HTTPRequest.Method, _ path: String, _ access: Access = .authenticated, handler: @escaping @Sendable (Call) async throws -> Response) {
        self.method = method
        self.path = path
        self.access = access
        self.handler = handler
    }

    /// The path in the router's form (`{id}` becomes `:id`).
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("{") && $0.hasSuffix("}") ? ":" + $0.dropFirst().dropLast() : String($0) }
            .joined(separator: "/")
    }
}

/// One request to an endpoint: its parts, parsed with errors that name what is wrong, and its caller.
struct Call: Sendable {
    let request: Request
    let context: APIContext
    let principal: Principal?

    /// The authenticated caller (every route but the public ones has one).
    var caller: Principal {
        get throws {
            guard let principal else { throw ServiceError(.unauthenticated, "this route needs a token: send Authorization: Bearer <token>") }
            return principal
        }
    }

    /// A path parameter that must be a UUID.
    func id(_ name: String = "id") throws -> UUID {
        guard let text = context.parameters.get(name), let id = UUID(uuidString: text) else {
            throw ServiceError(.invalidRequest, "\(name) in the path must be a UUID")
        }
        return id
    }

    /// A query parameter, if present.
    func query(_ name: String) -> String? {
        request.uri.queryParameters.get(name)
    }

    /// A query parameter that must be a UUID when present.
    func queryID(_ name: String) throws -> UUID? {
        guard let text = query(name) else { return nil }
        guard let id = UUID(uuidString: text) else { throw ServiceError(.invalidRequest, "query parameter \(name) must be a UUID") }
        return id
    }

    /// `limit` (1-200, default 50) and `offset` (0 or more) from the query.
    func page() throws -> PageRequest {
        func integer(_ name: String, _ range: ClosedRange<Int>, default value: Int) throws -> Int {
            guard let text = query(name) else { return value }
            guard let number = Int(text), range.contains(number) else {
                throw ServiceError(.invalidRequest, "query parameter \(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        return PageRequest(limit: try integer("limit", 1...PageRequest.maximumLimit, default: 50), offset: try integer("offset", 0...Int(Int32.max), default: 0))
    }

    /// The body parsed by agentbox's own strict JSON parser (no duplicate keys), as an object.
    ///
    /// Used for bodies that carry secrets or free-form input: parse errors name a position, never the text.
    func jsonObject() async throws -> [String: JSONValue] {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let value: JSONValue
        do {
            value = try JSONValue(parsing: buffer.readableBytesView)
        } catch {
            throw ServiceError(.invalidRequest, "the body is not valid JSON: \(error.message)")
        }
        guard case .object(let fields) = value else { throw ServiceError(.invalidRequest, "the body must be a JSON object") }
        return fields
    }

    /// The JSON body decoded as `type` (by `decoder`: the API's, or the DTMA protocol's); a malformed body is a 400 naming the field.
    func body<Body: Decodable>(_ type: Body.Type, decoder: JSONDecoder = JSONResponse.decoder) async throws -> Body {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        do {
            return try decoder.decode(Body.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw ServiceError(.invalidRequest, Self.describe(error))
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "the body is missing the field \(path(context.codingPath + [key]))"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return context.codingPath.isEmpty
                ? "the body must be a JSON object"
                : "the field \(path(context.codingPath)) must be \(Self.typeName(type))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "the body is not valid JSON"
                : "the field \(path(context.codingPath)) is invalid: \(context.debugDescription)"
        @unknown default:
            return "the body could not be read"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "a whole number"
        case is Bool.Type: "true or false"
        case is Double.Type: "a number"
        default: "of the documented type"
        }
    }
}

extension Router where Context == APIContext {
    /// Registers endpoints: authenticates the callers of protected routes before their handlers run.
    func add(_ endpoints: [Endpoint], tokens: TokenService) {
        for endpoint in endpoints {
            on(RouterPath(endpoint.routerPath), method: endpoint.method) { request, context in
                var principal: Principal?
                if endpoint.access == .authenticated {
                    principal = try await tokens.authenticate(try request.bearerToken(), from: context.clientAddress)
                }
                return try await endpoint.handler(Call(request: request, context: context, principal: principal))
            }
        }
    }

}

extension Request {
    /// The token of an `Authorization: Bearer` header; throws `unauthenticated`, saying what to send, without one.
    func bearerToken() throws -> String {
        guard let header = headers[.authorization] else {
            throw ServiceError(.unauthenticated, "this route needs a token: send Authorization: Bearer <token>")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw ServiceError(.unauthenticated, "the Authorization header must be: Bearer <token>")
        }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }
}

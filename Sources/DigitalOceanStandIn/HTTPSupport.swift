import HTTPTypes
import Hummingbird

/// The per-request context: Hummingbird's, plus a way to end the connection without answering.
struct StandInContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Closes the connection at once; whatever the route returns afterwards is never sent.
    let dropConnection: @Sendable () async -> Void

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        let channel = source.channel
        dropConnection = {
            channel.close(promise: nil)
            try? await channel.closeFuture.get()
        }
    }

    /// Request bodies are small JSON documents (`user_data` is at most 64 KiB).
    var maxUploadSize: Int { 1 << 20 }
}

extension HTTPField.Name {
    static let requestID = Self("x-request-id")!
    static let rateLimitLimit = Self("ratelimit-limit")!
    static let rateLimitRemaining = Self("ratelimit-remaining")!
    static let rateLimitReset = Self("ratelimit-reset")!
}

extension JSONValue {
    /// A response with this as its body.
    func response(_ status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: serialized)))
    }
}

extension StandInError {
    func response(requestID: String) -> Response {
        var response = body(requestID: requestID).response(status)
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }
}

extension Request {
    /// The body as JSON: 400 when it is not JSON.
    func json(_ context: StandInContext) async throws -> JSONValue {
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        return try JSONValue(parsing: buffer.readableBytesView)
    }

    /// `http://host:port` as the client addressed the stand-in, for the full URLs of links.
    var baseURL: String { "http://\(head.authority ?? "127.0.0.1")" }

    /// A query parameter, if present and not empty.
    func query(_ name: String) -> String? {
        uri.queryParameters.get(name).flatMap { $0.isEmpty ? nil : $0 }
    }
}

extension StandInContext {
    /// An integer path parameter; a path with anything else names no resource.
    func id(_ name: String = "id") throws(StandInError) -> Int {
        guard let id = parameters.get(name, as: Int.self) else { throw .notFound }
        return id
    }
}

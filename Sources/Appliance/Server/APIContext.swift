import Hummingbird

/// The per-request context of the API.
struct APIContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The client's IP address (token checks are limited per address).
    let clientAddress: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Request bodies are small JSON documents; anything larger is refused with 413.
    var maxUploadSize: Int { 1 << 20 }
}

/// The client address of the request being handled, for the token checks of code that sees only the request
/// (console pages, MCP); set by ``RequestObservationMiddleware``.
enum RequestSource {
    @TaskLocal static var address: String?
}

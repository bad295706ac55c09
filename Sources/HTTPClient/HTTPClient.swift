import CCurl
import Synchronization

/// The project's HTTP client, on libcurl: one request at a time per call, any number in parallel.
///
/// Each transfer runs on a thread of its own, never on Swift's cooperative pool, and resumes the
/// caller when it ends. Cancelling the calling task aborts the transfer within about a second.
public final class HTTPClient: Sendable {
    /// Settings shared by every request of a client.
    public struct Configuration: Sendable {
        /// The limit for opening the connection.
        public var connectTimeout: Duration
        /// The limit for a whole exchange when the request sets none.
        public var timeout: Duration
        /// Connect to this unix socket instead of the URL's host and port (e.g. `/var/run/docker.sock`).
        public var unixSocketPath: String?
        /// Responses with a larger body fail with `.responseTooLarge`.
        public var maximumResponseSize: Int
        /// The `User-Agent` header, unless a request sets its own.
        public var userAgent: String
        /// Trust a TLS server by its public key alone (`sha256//<base64>`, libcurl's pin form) instead of a
        /// certificate authority: how droplets reach the appliance's self-signed certificate.
        public var pinnedPublicKey: String?

        public init(
            connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(60), unixSocketPath: String? = nil,
            maximumResponseSize: Int = 64 << 20, userAgent: String = "agentbox", pinnedPublicKey: String? = nil
        ) {
            self.pinnedPublicKey = pinnedPublicKey
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.unixSocketPath = unixSocketPath
            self.maximumResponseSize = maximumResponseSize
            self.userAgent = userAgent
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Sends a request and returns the response, whatever its status; throws `HTTPClientError` when
    /// there is no response.
    public func send(_ request: HTTPRequest) async throws(HTTPClientError) -> HTTPResponse {
        if let failure = libcurlStartFailure { throw failure }
        let cancellation = CancellationFlag()
        let configuration = self.configuration
        let result: Result<HTTPResponse, HTTPClientError> = await withTaskCancellationHandler {
            await BlockingThread.run(fallback: .failure(BlockingThread.unavailable)) {
                CurlTransfer.perform(request, configuration: configuration, cancellation: cancellation)
            }
        } onCancel: {
            cancellation.cancel()
        }
        return try result.get()
    }
}

/// Set from another task when the caller is cancelled; read by the transfer's progress callback.
final class CancellationFlag: Sendable {
    private let cancelled = Atomic<Bool>(false)
    func cancel() { cancelled.store(true, ordering: .releasing) }
    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
}

/// `curl_global_init`, run once by the first request of the process; nil when it succeeded.
let libcurlStartFailure: HTTPClientError? = {
    let code = ccurl_global_init()
    guard code != CURLE_OK else { return nil }
    return HTTPClientError(.unavailable, "libcurl failed to start: \(String(cString: curl_easy_strerror(code)))", curlCode: Int(code.rawValue))
}()

import Synchronization

/// A response whose body arrives piece by piece: Docker's pull progress, its events, a followed log.
public struct HTTPStreamingResponse: Sendable {
    public let status: Int
    /// The headers of the final response.
    public let headers: HTTPHeaders
    /// The body in pieces as they arrive (not split at any boundary); ends when the server ends it, and
    /// throws `HTTPClientError` if the transfer breaks. Cancelling the task that iterates, or letting go
    /// of the stream (of every copy of the response), aborts the transfer within about a second.
    public let body: AsyncThrowingStream<[UInt8], any Error>

    public init(status: Int, headers: HTTPHeaders, body: AsyncThrowingStream<[UInt8], any Error>) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Whether the status is 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// Reads the whole remaining body (for an error answer, which is short).
    public func collect(limit: Int = 1 << 20) async throws -> [UInt8] {
        var all: [UInt8] = []
        for try await piece in body {
            all += piece.prefix(max(0, limit - all.count))
            if all.count >= limit { break }
        }
        return all
    }
}

extension HTTPClient {
    /// Sends a request and returns as soon as the head of the response has arrived, whatever its
    /// status; the body follows in `body`. Throws `HTTPClientError` when there is no response.
    ///
    /// The transfer runs on a thread of its own, off the cooperative pool. Unlike `send`, it has no time
    /// limit unless `request.timeout` sets one (an event stream may stay open for days), and no size
    /// limit: the body's consumer is expected to keep up, since pieces not yet read are buffered.
    /// Cancelling the calling task before the head arrives aborts the transfer.
    public func stream(_ request: HTTPRequest) async throws(HTTPClientError) -> HTTPStreamingResponse {
        if let failure = libcurlStartFailure { throw failure }
        let cancellation = CancellationFlag()
        let sink = StreamSink(cancellation: cancellation)
        let configuration = self.configuration
        let result: Result<HTTPStreamingResponse, HTTPClientError> = await withTaskCancellationHandler {
            await withCheckedContinuation { head in
                sink.waitForHead(head)
                Task.detached {
                    let result = await BlockingThread.run(fallback: .failure(BlockingThread.unavailable)) {
                        CurlTransfer.stream(request, configuration: configuration, cancellation: cancellation, sink: sink)
                    }
                    sink.end(result)
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
        return try result.get()
    }
}

/// Where a streaming transfer delivers its head (once) and its body, from the transfer's thread.
final class StreamSink: Sendable {
    typealias Head = CheckedContinuation<Result<HTTPStreamingResponse, HTTPClientError>, Never>

    private struct Pending {
        var head: Head?
        /// Held only until it is handed out with the head: once the caller drops it, the transfer stops.
        var stream: AsyncThrowingStream<[UInt8], any Error>?
    }

    private let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation
    private let pending: Mutex<Pending>

    init(cancellation: CancellationFlag) {
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        continuation.onTermination = { _ in cancellation.cancel() }  // the consumer stopped reading
        self.continuation = continuation
        pending = Mutex(Pending(head: nil, stream: stream))
    }

    func waitForHead(_ head: Head) {
        pending.withLock { $0.head = head }
    }

    /// Called when the head of the final response is complete.
    func head(_ status: Int, _ headers: HTTPHeaders) {
        resumeHead(.success((status, headers)))
    }

    /// Called with each piece of the body; false once nobody reads the body any more.
    func body(_ bytes: [UInt8]) -> Bool {
        if case .terminated = continuation.yield(bytes) { return false }
        return true
    }

    /// Called once when the transfer is over.
    func end(_ result: Result<HTTPResponse, HTTPClientError>) {
        switch result {
        case .success(let response):
            resumeHead(.success((response.status, response.headers)))  // a head that `head` did not see
            continuation.finish()
        case .failure(let error):
            resumeHead(.failure(error))
            continuation.finish(throwing: error)
        }
    }

    private func resumeHead(_ result: Result<(status: Int, headers: HTTPHeaders), HTTPClientError>) {
        let taken = pending.withLock { pending -> (Head, AsyncThrowingStream<[UInt8], any Error>)? in
            guard let head = pending.head, let stream = pending.stream else { return nil }
            pending = Pending(head: nil, stream: nil)
            return (head, stream)
        }
        guard let (head, stream) = taken else { return }
        head.resume(returning: result.map { HTTPStreamingResponse(status: $0.status, headers: $0.headers, body: stream) })
    }
}

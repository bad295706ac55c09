import Foundation
import HTTPClient

extension DockerClient {
    /// The engine's container events from the moment of this call on, for containers whose labels
    /// match (`key=value`, or the key present when the value is nil; an empty filter means all).
    ///
    /// The stream opens when first iterated and stays open until the iterating task is cancelled or
    /// stops. It throws `DockerError` when the engine cannot be reached or goes away (`.engineUnreachable`):
    /// a caller that follows events for as long as it runs subscribes again, and should check the
    /// containers' state since, because events of the gap are lost.
    public func events(labels: [String: String?]) -> AsyncThrowingStream<DockerEvent, any Error> {
        let since = Date().timeIntervalSince1970
        let (stream, continuation) = AsyncThrowingStream<DockerEvent, any Error>.makeStream()
        let task = Task { [self] in
            do throws(DockerError) {
                try await follow(labels: labels, since: since) { continuation.yield($0) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func follow(labels: [String: String?], since: Double, _ deliver: (DockerEvent) -> Void) async throws(DockerError) {
        let operation = "docker events"
        let query = [("since", String(format: "%.9f", since)), ("filters", Self.filters(labels: labels, ["type": ["container"]]))]
        let url = try await url("/events", query, operation)
        let response: HTTPStreamingResponse
        do throws(HTTPClientError) {
            response = try await http.stream(HTTPRequest(.get, url: url))
        } catch {
            if error.code == .cancelled { return }
            throw DockerError.transport(error, operation, socketPath: socketPath)
        }
        guard response.isSuccess else {
            let body = (try? await response.collect()) ?? []
            throw DockerError.answer(status: response.status, body: body, operation)
        }
        var lines = JSONLines()
        do {
            for try await piece in response.body {
                for line in lines.append(piece) {
                    guard let event = try? JSONDecoder().decode(EventJSON.self, from: Data(line)) else {
                        throw DockerError.unreadable(operation, "an event that is not JSON")
                    }
                    deliver(event.event)
                }
            }
        } catch let error as DockerError {
            throw error
        } catch let error as HTTPClientError {
            if error.code == .cancelled { return }
            throw DockerError.transport(error, operation, socketPath: socketPath)
        } catch {
            throw DockerError(.protocolError, "\(operation): \(error)")
        }
        if Task.isCancelled { return }
        throw DockerError(.engineUnreachable, "\(operation): the Docker engine on \(socketPath) closed the event stream; is dockerd still running?")
    }
}

import Foundation
import HTTPClient

extension DockerClient {
    /// Pulls an image (`POST /images/create`), reporting each progress line of the engine as it comes.
    ///
    /// A reference without a tag or digest means `:latest`. `auth` goes to the engine as
    /// `X-Registry-Auth` for this pull only. Any failure, whether the engine refuses at once
    /// (unknown tag, registry unreachable, credentials missing) or reports an error line in the middle
    /// of the stream, is a `.pullFailed` error carrying Docker's message; an unreachable engine is
    /// `.engineUnreachable`.
    public func pullImage(_ reference: String, auth: RegistryAuth?, progress: @Sendable (PullProgress) -> Void) async throws(DockerError) {
        let image = ImageReference(reference)
        let operation = "docker pull \(image.description)"
        let url = try await url("/images/create", [("fromImage", image.repository), ("tag", image.tag)], operation)
        var headers: HTTPHeaders = [:]
        if let auth { headers["X-Registry-Auth"] = auth.headerValue }
        let response: HTTPStreamingResponse
        do throws(HTTPClientError) {
            response = try await http.stream(HTTPRequest(.post, url: url, headers: headers))
        } catch {
            throw DockerError.transport(error, operation, socketPath: socketPath)
        }
        guard response.isSuccess else {
            let body = (try? await response.collect()) ?? []
            throw DockerError.answer(status: response.status, body: body, operation, pull: true)
        }
        var lines = JSONLines()
        func handle(_ line: [UInt8]) throws(DockerError) {
            guard let message = try? JSONDecoder().decode(PullMessage.self, from: Data(line)) else {
                throw DockerError.unreadable(operation, "a progress line that is not JSON")
            }
            if let failure = message.failure {
                let hint = PullHints.hint(for: failure).map { "; \($0)" } ?? ""
                throw DockerError(.pullFailed, "\(operation): \(failure)\(hint)", dockerMessage: failure, status: response.status)
            }
            if let line = message.progress { progress(line) }
        }
        do {
            for try await piece in response.body {
                for line in lines.append(piece) { try handle(line) }
            }
            for line in lines.finish() { try handle(line) }
        } catch let error as DockerError {
            throw error
        } catch let error as HTTPClientError {
            throw DockerError.transport(error, operation, socketPath: socketPath)
        } catch {
            throw DockerError(.protocolError, "\(operation): \(error)")
        }
        // A cancelled task ends the stream early and quietly; that is no success.
        if Task.isCancelled { throw DockerError(.cancelled, "\(operation): cancelled") }
    }

    /// Removes a local image reference (`DELETE /images/{name}`); false when there was none. An image that a
    /// container uses is `.conflict` unless `force`.
    @discardableResult
    public func removeImage(_ reference: String, force: Bool = false) async throws(DockerError) -> Bool {
        let response = try await call(
            .delete, "/images/\(URLText.pathPart(reference))", query: [("force", force ? "1" : "0")], expect: [200, 404], "docker rmi \(reference)")
        return response.status == 200
    }

    /// The local image of that reference (`GET /images/{name}/json`), or nil when there is none.
    public func inspectImage(_ reference: String) async throws(DockerError) -> ImageInfo? {
        let operation = "docker image inspect \(reference)"
        let response = try await call(.get, "/images/\(URLText.pathPart(reference))/json", expect: [200, 404], operation)
        guard response.status == 200 else { return nil }
        return try decode(response.body, operation)
    }
}

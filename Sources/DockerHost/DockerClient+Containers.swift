import Foundation
import HTTPClient

extension DockerClient {
    /// Creates a container from a spec (`POST /containers/create`) and returns its id. The image must
    /// be pulled already (`.notFound` otherwise); a taken name is `.conflict`.
    public func createContainer(_ spec: ContainerSpec) async throws(DockerError) -> String {
        struct Created: Decodable { let Id: String }
        let operation = "docker create \(spec.name) (\(spec.image))"
        let body = try encode(spec.createBody, operation)
        let response = try await call(.post, "/containers/create", query: [("name", spec.name)], body: body, expect: [201], operation)
        let created: Created = try decode(response.body, operation)
        return created.Id
    }

    /// Starts a container; one that already runs is left as it is. A host port taken by another
    /// process is `.portInUse`, with Docker's "address already in use".
    public func startContainer(_ id: String) async throws(DockerError) {
        try await call(.post, "/containers/\(URLText.pathPart(id))/start", expect: [204, 304], "docker start \(id)")
    }

    /// Stops a container: SIGTERM, then SIGKILL after `timeout` seconds; one already stopped is left as it is.
    public func stopContainer(_ id: String, timeout: Int) async throws(DockerError) {
        try await call(
            .post, "/containers/\(URLText.pathPart(id))/stop", query: [("t", String(timeout))], timeout: .seconds(max(0, timeout) + 60),
            expect: [204, 304], "docker stop \(id)")
    }

    /// Stops (as `stopContainer`) and starts a container again.
    public func restartContainer(_ id: String, timeout: Int) async throws(DockerError) {
        try await call(
            .post, "/containers/\(URLText.pathPart(id))/restart", query: [("t", String(timeout))], timeout: .seconds(max(0, timeout) + 60),
            expect: [204], "docker restart \(id)")
    }

    /// Renames a container; a name taken by another container is `.conflict`.
    public func renameContainer(_ id: String, to name: String) async throws(DockerError) {
        try await call(.post, "/containers/\(URLText.pathPart(id))/rename", query: [("name", name)], expect: [204], "docker rename \(id) \(name)")
    }

    /// Sends a signal (`KILL` by default) to a running container; one that does not run is `.conflict`.
    public func killContainer(_ id: String, signal: String = "KILL") async throws(DockerError) {
        try await call(.post, "/containers/\(URLText.pathPart(id))/kill", query: [("signal", signal)], expect: [204], "docker kill \(id)")
    }

    /// Removes a container and its anonymous volumes; `force` kills it first if it runs. One that
    /// does not exist is `.notFound`.
    public func removeContainer(_ id: String, force: Bool) async throws(DockerError) {
        try await call(
            .delete, "/containers/\(URLText.pathPart(id))", query: [("force", force ? "1" : "0"), ("v", "1")], expect: [204],
            "docker rm \(id)")
    }

    /// A container by id or name, or nil when there is none.
    public func inspectContainer(_ id: String) async throws(DockerError) -> ContainerInfo? {
        let operation = "docker inspect \(id)"
        let response = try await call(.get, "/containers/\(URLText.pathPart(id))/json", expect: [200, 404], operation)
        guard response.status == 200 else { return nil }
        let container: ContainerJSON = try decode(response.body, operation)
        return container.info
    }

    /// The containers whose labels match every entry: `key=value`, or the key present with any value
    /// when the value is nil. `all` includes stopped ones.
    public func listContainers(labels: [String: String?], all: Bool) async throws(DockerError) -> [ContainerSummary] {
        let operation = "docker ps"
        var query = [("filters", Self.filters(labels: labels))]
        if all { query.append(("all", "1")) }
        let response = try await call(.get, "/containers/json", query: query, expect: [200], operation)
        return try decode(response.body, operation)
    }

    /// The last `tail` lines of a container's output, stdout and stderr interleaved as written
    /// (all of it when `tail` is negative).
    public func logs(_ id: String, tail: Int) async throws(DockerError) -> String {
        let query = [("stdout", "1"), ("stderr", "1"), ("tail", tail < 0 ? "all" : String(tail))]
        let response = try await call(.get, "/containers/\(URLText.pathPart(id))/logs", query: query, expect: [200], "docker logs \(id)")
        return String(decoding: LogFrames.demultiplex(response.body), as: UTF8.self)
    }
}

/// The engine's log format for containers without a terminal: frames of an 8-byte header (stream
/// 0/1/2, three zero bytes, a big-endian 32-bit length) and the payload.
enum LogFrames {
    /// The payloads in order; the bytes as they are when they are not in frames (a container with a terminal).
    static func demultiplex(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard index + 8 <= bytes.count, bytes[index] <= 2, bytes[index + 1] == 0, bytes[index + 2] == 0, bytes[index + 3] == 0 else {
                return index == 0 ? bytes : output + bytes[index...]
            }
            let length = bytes[(index + 4)..<(index + 8)].reduce(0) { $0 << 8 | Int($1) }
            let start = index + 8
            let end = min(bytes.count, start + length)
            output += bytes[start..<end]
            index = end
        }
        return output
    }
}

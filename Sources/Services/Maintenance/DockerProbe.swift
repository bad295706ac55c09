import Foundation
import HTTPClient

/// Asks a Docker engine, over its unix socket, whether it answers and which API version it speaks.
///
/// Used by `agentbox doctor` and `/readyz`; plain `GET /_ping` and `GET /version` with the project's HTTP client.
public struct DockerProbe: Sendable {
    /// Where the Docker engine listens unless configured otherwise.
    public static let defaultSocketPath = "/var/run/docker.sock"
    /// The oldest Engine API agentbox speaks (Docker 20.10).
    public static let minimumAPIVersion = "1.41"

    /// What the engine said about itself.
    public struct Version: Sendable, Equatable {
        /// The Engine API version, e.g. `1.45`.
        public var apiVersion: String
        /// The engine's release, e.g. `26.1.4`.
        public var engineVersion: String
    }

    /// Why the engine did not answer as expected: a message without any header or body.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public let socketPath: String
    public let timeout: Duration
    private let client: HTTPClient

    public init(socketPath: String = DockerProbe.defaultSocketPath, timeout: Duration = .seconds(2)) {
        self.socketPath = socketPath
        self.timeout = timeout
        client = HTTPClient(
            configuration: .init(connectTimeout: timeout, timeout: timeout, unixSocketPath: socketPath, maximumResponseSize: 1 << 20))
    }

    /// `GET /_ping`: succeeds when the engine answers `200 OK`.
    public func ping() async throws(Failure) {
        let response = try await get("/_ping")
        guard response.status == 200 else {
            throw Failure(message: "the Docker engine at \(socketPath) answered /_ping with HTTP \(response.status)")
        }
    }

    /// `GET /version`: the engine's API version and release.
    public func version() async throws(Failure) -> Version {
        let response = try await get("/version")
        guard response.status == 200,
            let object = try? JSONSerialization.jsonObject(with: response.data) as? [String: Any],
            let api = object["ApiVersion"] as? String
        else {
            throw Failure(message: "the Docker engine at \(socketPath) answered /version with HTTP \(response.status) and no ApiVersion")
        }
        return Version(apiVersion: api, engineVersion: object["Version"] as? String ?? "unknown")
    }

    /// Whether `version` (`major.minor`) is at least ``minimumAPIVersion``.
    public static func isSupported(apiVersion version: String) -> Bool {
        guard let have = parse(version), let need = parse(minimumAPIVersion) else { return false }
        return have.major != need.major ? have.major > need.major : have.minor >= need.minor
    }

    private static func parse(_ version: String) -> (major: Int, minor: Int)? {
        let parts = version.split(separator: ".")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        return (major, minor)
    }

    private func get(_ path: String) async throws(Failure) -> HTTPResponse {
        do {
            return try await client.send(HTTPRequest(.get, url: "http://docker" + path, timeout: timeout))
        } catch {
            throw Failure(message: "no Docker engine answers at \(socketPath): \(error.message)")
        }
    }
}

import Foundation
import HTTPClient
import Synchronization

/// A client of the Docker Engine API over its unix socket, on the project's libcurl `HTTPClient`.
///
/// Every call is async and runs its transfer on a thread of its own, never on Swift's cooperative
/// pool; cancelling the calling task aborts it. Failures are `DockerError`s that carry Docker's own
/// message. The API version is agreed on the first call (or by `version()`): the engine's, capped at
/// the newest this client knows, and never below 1.41 (Docker 20.10).
///
/// Knows nothing of toolboxes or the database: it is the engine, typed.
public final class DockerClient: Sendable {
    /// The oldest API version agentbox works with: Docker 20.10, Debian 12's `docker.io`.
    public static let oldestAPIVersion = APIVersion(major: 1, minor: 41)
    /// The newest API version this client was written against (Docker 26).
    public static let newestAPIVersion = APIVersion(major: 1, minor: 45)

    /// The engine's socket, e.g. `/var/run/docker.sock`.
    public let socketPath: String
    let http: HTTPClient
    private let agreedVersion = Mutex<APIVersion?>(nil)

    public init(socketPath: String = "/var/run/docker.sock") {
        self.socketPath = socketPath
        http = HTTPClient(configuration: .init(connectTimeout: .seconds(5), timeout: .seconds(60), unixSocketPath: socketPath))
    }

    /// The API version in use, once agreed with the engine.
    public var apiVersion: APIVersion? { agreedVersion.withLock { $0 } }

    /// Succeeds when the engine answers `GET /_ping`.
    public func ping() async throws(DockerError) {
        let operation = "docker ping"
        let response = try await exchange(HTTPRequest(.get, url: Self.base + "/_ping", timeout: .seconds(10)), operation)
        guard response.status == 200 else { throw DockerError.answer(status: response.status, body: response.body, operation) }
    }

    /// The engine's version; also agrees on the API version that later calls use.
    public func version() async throws(DockerError) -> DockerVersion {
        try await version("docker version")
    }

    /// `version()`, with failures named after `operation` (the call that needed the version).
    private func version(_ operation: String) async throws(DockerError) -> DockerVersion {
        let response = try await exchange(HTTPRequest(.get, url: Self.base + "/version", timeout: .seconds(10)), operation)
        guard response.status == 200 else { throw DockerError.answer(status: response.status, body: response.body, operation) }
        let version: DockerVersion = try decode(response.body, operation)
        let agreed: APIVersion
        do throws(DockerError) {
            agreed = try Self.agree(engine: version)
        } catch {
            throw DockerError(error.code, "\(operation): \(error.message)", dockerMessage: error.dockerMessage, status: error.status)
        }
        agreedVersion.withLock { $0 = agreed }
        return version
    }

    /// The API version to speak with an engine: its own, capped at the newest this client knows; the
    /// engine's minimum if that is newer still (the calls agentbox makes have not changed shape).
    static func agree(engine: DockerVersion) throws(DockerError) -> APIVersion {
        guard let offered = APIVersion(engine.apiVersion) else {
            throw DockerError(.protocolError, "the Docker engine reports an API version agentbox cannot read: \(engine.apiVersion)")
        }
        guard offered >= oldestAPIVersion else {
            throw DockerError(
                .engineTooOld,
                "the Docker engine \(engine.version) speaks API \(offered); agentbox needs \(oldestAPIVersion) (Docker 20.10) or newer: upgrade it")
        }
        var agreed = min(offered, newestAPIVersion)
        if let minimum = engine.minAPIVersion.flatMap(APIVersion.init), minimum > agreed { agreed = minimum }
        return agreed
    }

    // MARK: - Plumbing for the calls in the extensions

    static let base = "http://docker"

    /// `http://docker/v1.NN` + path + query, agreeing on the version first if needed.
    func url(_ path: String, _ query: [(String, String)] = [], _ operation: String) async throws(DockerError) -> String {
        let version: APIVersion
        if let agreed = agreedVersion.withLock({ $0 }) {
            version = agreed
        } else {
            _ = try await self.version(operation)
            version = agreedVersion.withLock { $0 } ?? Self.oldestAPIVersion
        }
        var url = Self.base + "/v\(version)" + path
        if !query.isEmpty {
            url += "?" + query.map { "\(URLText.encode($0.0))=\(URLText.encode($0.1))" }.joined(separator: "&")
        }
        return url
    }

    /// Sends one request and returns the engine's answer, whatever its status.
    func exchange(_ request: HTTPRequest, _ operation: String) async throws(DockerError) -> HTTPResponse {
        do throws(HTTPClientError) {
            return try await http.send(request)
        } catch {
            throw DockerError.transport(error, operation, socketPath: socketPath)
        }
    }

    /// Sends a request and fails unless the status is one of `expected`.
    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: Duration? = nil, expect expected: Set<Int>, _ operation: String
    ) async throws(DockerError) -> HTTPResponse {
        var headers: HTTPHeaders = [:]
        if body != nil { headers["Content-Type"] = "application/json" }
        let url = try await url(path, query, operation)
        let response = try await exchange(HTTPRequest(method, url: url, headers: headers, body: body ?? [], timeout: timeout), operation)
        guard expected.contains(response.status) else { throw DockerError.answer(status: response.status, body: response.body, operation) }
        return response
    }

    func decode<T: Decodable>(_ body: [UInt8], _ operation: String) throws(DockerError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch {
            throw DockerError.unreadable(operation, "\(T.self): \(error)")
        }
    }

    func encode<T: Encodable>(_ value: T, _ operation: String) throws(DockerError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(value))
        } catch {
            throw DockerError(.badRequest, "\(operation): could not encode the request: \(error)")
        }
    }

    /// The `filters` query value: `{"label": ["key=value", "key"], ...}`.
    static func filters(labels: [String: String?], _ more: [String: [String]] = [:]) -> String {
        var filters = more
        let labelFilters = labels.map { key, value in value.map { "\(key)=\($0)" } ?? key }.sorted()
        if !labelFilters.isEmpty { filters["label"] = labelFilters }
        let data = (try? JSONSerialization.data(withJSONObject: filters, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// A Docker Engine API version such as 1.41.
public struct APIVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// Parses `"1.41"`.
    public init?(_ text: String) {
        let parts = text.split(separator: ".")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        self.init(major: major, minor: minor)
    }

    public static func < (lhs: APIVersion, rhs: APIVersion) -> Bool { (lhs.major, lhs.minor) < (rhs.major, rhs.minor) }
    public var description: String { "\(major).\(minor)" }
}

/// Percent-encoding for the parts of an engine URL.
enum URLText {
    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    /// Encodes everything but unreserved characters (and the `extra` ones, for a path).
    static func encode(_ text: String, keeping extra: String = "") -> String {
        let keep = unreserved.union(extra.utf8)
        var out = ""
        for byte in text.utf8 {
            if keep.contains(byte) {
                out.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// An image reference or container id as a path segment (its `/`, `:` and `@` kept, as Docker expects).
    static func pathPart(_ text: String) -> String { encode(text, keeping: "/:@") }
}

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Every test of the stand-in, one at a time: Foundation's `Process.run()` on Linux has crashed while other
/// threads opened and closed descriptors (see scripts/test.sh), and each test here starts a process.
@Suite(.serialized) struct StandInTests {}

/// The built `agentbox-do-sim`, started on a free port for one test and spoken to over plain HTTP.
struct StandInProcess {
    static let token = "test-token"

    /// The binary beside the test bundle in the build folder.
    static let executable: String = {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("agentbox-do-sim").path
    }()

    let process: Process
    let port: Int
    /// Its standard error: the request log and whatever else it logs.
    let logFile: URL
    /// Stops the process when the test drops its last copy of this value, even if the test failed first.
    private let reaper: ProcessReaper

    /// Starts the stand-in with fast timings (overridable by `arguments`) and waits for its "listening" line.
    /// It gets the test's environment without AGENTBOX_* variables, plus `environment`.
    static func start(_ arguments: [String] = [], environment: [String: String] = [:]) async throws -> StandInProcess {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("do-sim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let output = folder.appendingPathComponent("stdout")
        let log = folder.appendingPathComponent("stderr")
        try #require(FileManager.default.createFile(atPath: output.path, contents: nil))
        try #require(FileManager.default.createFile(atPath: log.path, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--port", "0", "--token", token, "--active-after", "0.3", "--ip-after", "0.5", "--action-seconds", "0.2"] + arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AGENTBOX_") }.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let reaper = ProcessReaper(process, folder: folder)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let text = try String(contentsOf: output, encoding: .utf8)
            if let line = text.split(separator: "\n").first, text.contains("\n") {
                let match = try #require(line.firstMatch(of: /^agentbox-do-sim listening on http:\/\/127\.0\.0\.1:(\d+) \(token (.+)\)$/))
                #expect(String(match.2) == token)
                return StandInProcess(process: process, port: try #require(Int(match.1)), logFile: log, reaper: reaper)
            }
            guard process.isRunning else {
                throw DidNotStart(reason: "it exited with \(process.terminationStatus)", log: try String(contentsOf: log, encoding: .utf8))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw DidNotStart(reason: "it printed no listening line within 30 s", log: try String(contentsOf: log, encoding: .utf8))
    }

    /// The stand-in never said where it listens.
    struct DidNotStart: Error, CustomStringConvertible {
        let reason: String
        let log: String
        var description: String { "agentbox-do-sim did not start: \(reason); its log: \(log)" }
    }

    /// One request on a fresh connection (so a dropped connection is never silently retried on another).
    func request(_ method: String, _ path: String, json: String? = nil, token: String? = StandInProcess.token) async throws -> Reply {
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)\(path)")))
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(json.utf8)
        }
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return Reply(status: http.statusCode, headers: headers, body: data)
    }

    /// A request that must answer `status`; returns its JSON object.
    @discardableResult
    func expect(_ status: Int, _ method: String, _ path: String, json: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> [String: Any]
    {
        let reply = try await request(method, path, json: json)
        #expect(reply.status == status, "\(method) \(path): \(reply.text)", sourceLocation: sourceLocation)
        return reply.object
    }

    /// A droplet by id (`GET /v2/droplets/{id}` must answer 200).
    func droplet(_ id: Int) async throws -> [String: Any] {
        try #require(try await expect(200, "GET", "/v2/droplets/\(id)")["droplet"] as? [String: Any])
    }

    /// Creates one droplet and returns its id and the id of its create action.
    func create(_ name: String, tags: [String] = [], extra: String = "") async throws -> (droplet: Int, action: Int) {
        let tagList = tags.map { "\"\($0)\"" }.joined(separator: ",")
        let json = #"{"name": "\#(name)", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "tags": [\#(tagList)]\#(extra)}"#
        let body = try await expect(202, "POST", "/v2/droplets", json: json)
        let droplet = try #require(body["droplet"] as? [String: Any])
        let action = try #require((body["links"] as? [String: Any])?["actions"] as? [[String: Any]]).first
        return (try #require(droplet["id"] as? Int), try #require(action?["id"] as? Int))
    }

    /// `GET /_sim/state`.
    func state() async throws -> (droplets: [[String: Any]], requests: [[String: Any]]) {
        let state = try await expect(200, "GET", "/_sim/state")
        return (try #require(state["droplets"] as? [[String: Any]]), try #require(state["requests"] as? [[String: Any]]))
    }

    /// Polls `check` every 50 ms until it holds; fails the test after `timeout`.
    func eventually(
        within timeout: Duration = .seconds(5), sourceLocation: SourceLocation = #_sourceLocation, _ check: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await check() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the condition did not hold within \(timeout)", sourceLocation: sourceLocation)
    }

    /// Sends SIGTERM and returns the exit status.
    func stop() async throws -> Int32 {
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning, "agentbox-do-sim did not stop on SIGTERM")
        return process.isRunning ? -1 : process.terminationStatus
    }
}

/// An HTTP answer.
struct Reply {
    let status: Int
    /// Header names in lower case.
    let headers: [String: String]
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    /// The body as a JSON object; empty when it is not one.
    var object: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
}

/// Terminates the child process and removes its output folder when released, so no stand-in outlives its test.
final class ProcessReaper: @unchecked Sendable {
    // @unchecked Sendable: `Process` is only read (isRunning) and terminated, both safe from any thread.
    private let process: Process
    private let folder: URL

    init(_ process: Process, folder: URL) {
        self.process = process
        self.folder = folder
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: folder)
    }
}

extension [String: Any] {
    /// A nested member by path, e.g. `droplet.at("networks", "v4")`.
    func at(_ path: String...) -> Any? {
        var value: Any? = self
        for key in path { value = (value as? [String: Any])?[key] }
        return value
    }
}

import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A running `agentbox-do-sim` (the project's DigitalOcean stand-in), started from the build folder beside the
/// test bundle on a free loopback port, with its fault-injection control API at hand. Stopped when dropped.
public final class StandInProcess: @unchecked Sendable {  // immutable; Process is only asked isRunning and terminate
    public let port: Int
    public let token: String
    private let process: Process
    private let log: String

    /// The base URL for a client.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the stand-in with `arguments` (e.g. `["--active-after", "0.5"]`) and waits for its first line.
    public static func start(_ arguments: [String] = [], folder: TemporaryDirectory) async throws -> StandInProcess {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let executable = URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("agentbox-do-sim").path
        let token = "sim-\(UUID().uuidString.lowercased())"
        let log = folder.appending("do-sim-\(UUID().uuidString).log")
        try writeFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--port", "0", "--token", token] + arguments
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        for _ in 0..<600 {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let range = output.range(of: #"listening on http://127\.0\.0\.1:\d+"#, options: .regularExpression),
                let port = Int(output[range].split(separator: ":").last ?? "")
            {
                return StandInProcess(port: port, token: token, process: process, log: log)
            }
            guard process.isRunning else { throw TestEnvironmentFailure("agentbox-do-sim exited at start: \(output)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw TestEnvironmentFailure("agentbox-do-sim did not say where it listens within 30 s")
    }

    private init(port: Int, token: String, process: Process, log: String) {
        self.port = port
        self.token = token
        self.process = process
        self.log = log
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// Everything it printed so far.
    public var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Adds faults: `POST /_sim/faults` with `faults` as the body (see `agentbox-do-sim --help`).
    public func inject(_ faults: [String: Any]) async throws {
        _ = try await control("POST", "/_sim/faults", faults)
    }

    /// `GET /_sim/state`: the live droplets and every request so far.
    public func state() async throws -> [String: Any] {
        try await control("GET", "/_sim/state", nil)
    }

    /// How many requests matched `method` and exactly `path` (query left out), per the stand-in's request log.
    public func requests(_ method: String, _ path: String) async throws -> Int {
        let requests = try await state()["requests"] as? [[String: Any]] ?? []
        return requests.filter { ($0["method"] as? String) == method && ($0["path"] as? String)?.split(separator: "?").first.map(String.init) == path }.count
    }

    private func control(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> [String: Any] {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let status = (response as? HTTPURLResponse)?.statusCode, (200..<300).contains(status) else {
            throw TestEnvironmentFailure("\(method) \(path) failed: \(String(decoding: data, as: UTF8.self))")
        }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// Stops it (SIGTERM) and waits for the exit.
    public func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<200 where process.isRunning { try? await Task.sleep(for: .milliseconds(25)) }
    }
}

/// Something a test needs from this machine (the stand-in, cloud-init) is missing or did not answer as expected.
public struct TestEnvironmentFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

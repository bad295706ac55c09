import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// The built `agentbox` binary, run as a user would run it.
struct AgentboxProcess {
    /// Exit status and everything the process wrote to standard output and standard error.
    struct Outcome {
        var status: Int32
        var output: String
    }

    /// The binary beside the test bundle in the build folder.
    static let executable: String = {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("agentbox").path
    }()

    let folder: TemporaryDirectory
    var environment: [String: String] = [:]

    /// Runs `agentbox arguments...` to completion.
    func run(_ arguments: [String]) async throws -> Outcome {
        let (process, log) = try start(arguments)
        await waitForExit(process)
        return Outcome(status: process.terminationStatus, output: try String(contentsOfFile: log, encoding: .utf8))
    }

    /// Starts `agentbox arguments...` with its output going to a file; returns the process and the file.
    func start(_ arguments: [String]) throws -> (Process, String) {
        let log = folder.appending("agentbox-\(UUID().uuidString).log")
        try writeFile(atPath: log, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment
            .filter { !$0.key.hasPrefix("AGENTBOX_") && $0.key != "CREDENTIALS_DIRECTORY" }
            .merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return (process, log)
    }

    /// Starts `agentbox serve` on a free port and waits until it says where it listens.
    func serve(_ arguments: [String]) async throws -> RunningServer {
        let (process, log) = try start(["serve", "--port", "0"] + arguments)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let output = try String(contentsOfFile: log, encoding: .utf8)
            if let range = output.range(of: #"listening on https?://127\.0\.0\.1:\d+"#, options: .regularExpression) {
                let port = Int(output[range].split(separator: ":").last!)!
                return RunningServer(process: process, log: log, port: port)
            }
            if !process.isRunning {
                throw ServeFailed(status: process.terminationStatus, output: output)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw ServeFailed(status: -1, output: "serve did not report its port within 60 s")
    }

    /// Waits for a process to end without blocking a thread of the cooperative pool.
    func waitForExit(_ process: Process) async {
        while process.isRunning {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// `serve` ended before it listened.
struct ServeFailed: Error, CustomStringConvertible {
    var status: Int32
    var output: String
    var description: String { "serve exited with \(status): \(output)" }
}

/// A running `agentbox serve`.
struct RunningServer {
    let process: Process
    let log: String
    let port: Int
    /// Stops the process when the test drops its last copy of this value, even if the test failed before `stop()`.
    private let reaper: ProcessReaper

    init(process: Process, log: String, port: Int) {
        self.process = process
        self.log = log
        self.port = port
        reaper = ProcessReaper(process)
    }

    /// GETs a path and returns the status and body.
    func get(_ path: String) async throws -> (status: Int, body: String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Waits (up to `timeout`) for the process to end by itself; true when it did.
    func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !process.isRunning
    }

    /// Everything it logged so far.
    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM, waits for the exit, and returns everything it logged.
    func stop() async throws -> String {
        process.terminate()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        return try String(contentsOfFile: log, encoding: .utf8)
    }
}

/// Terminates a child process when it is released, so no `agentbox serve` outlives its test.
final class ProcessReaper: @unchecked Sendable {
    // @unchecked Sendable: `Process` is only read (isRunning) and terminated, both safe from any thread.
    private let process: Process

    init(_ process: Process) {
        self.process = process
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

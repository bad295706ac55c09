import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The process-level work of the self-update, each off Swift's cooperative pool: this binary's path, a child's
/// self-test with a time limit, and `execv`.
enum ProcessTools {
    /// This process's binary, symbolic links resolved (`/proc/self/exe`).
    static func ownPath() -> String {
        canonical("/proc/self/exe") ?? CommandLine.arguments.first ?? "/usr/bin/agentbox"
    }

    /// `path` with every symbolic link resolved; nil if it does not exist.
    static func canonical(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func exists(_ path: String) -> Bool {
        access(path, X_OK) == 0
    }

    /// Runs blocking work on a thread of its own and awaits its result.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.start()
        }
    }

    /// Runs `path arguments` with this environment; its standard output is returned, its standard error goes to ours.
    /// Killed (SIGKILL) after `limit`. Fails with a reason unless it exits 0.
    static func run(_ path: String, _ arguments: [String], limit: Duration) async -> Result<String, DTMAError> {
        await blocking {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardInput = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                return .failure(DTMAError(.update, "it could not be started (\(error.localizedDescription))"))
            }
            let pid = process.processIdentifier
            let done = DispatchSemaphore(value: 0)
            let killed = KilledFlag()
            let watchdog = Thread {
                if done.wait(timeout: .now() + .milliseconds(Int(limit.wholeMilliseconds))) == .timedOut {
                    killed.set()
                    kill(pid, SIGKILL)
                }
            }
            watchdog.start()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            done.signal()
            let text = String(decoding: data.prefix(64 << 10), as: UTF8.self)
            if killed.isSet {
                return .failure(DTMAError(.update, "its self-test did not finish within \(limit.wholeMilliseconds / 1000) s"))
            }
            guard process.terminationReason == .exit else {
                return .failure(DTMAError(.update, "its self-test was killed by signal \(process.terminationStatus)"))
            }
            guard process.terminationStatus == 0 else {
                return .failure(DTMAError(.update, "its self-test exited with status \(process.terminationStatus)"))
            }
            return .success(text)
        }
    }

    /// Replaces this process with `path`, with `arguments` (argv[1...]) and the same environment. Returns only on failure.
    static func exec(_ path: String, arguments: [String]) -> DTMAError {
        fflush(nil)
        var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) }
        argv.append(nil)
        execv(path, argv)
        let reason = String(cString: strerror(errno))
        for pointer in argv { free(pointer) }
        return DTMAError(.update, "could not start \(path): \(reason)")
    }
}

/// Set once by the watchdog thread that killed a self-test.
private final class KilledFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Child processes of the stand-in (a droplet's DTMA, curl), started with `posix_spawn` and awaited off Swift's
/// cooperative pool.
///
/// Not Foundation's `Process`: on Linux it reads /proc/self/fd while spawning, which has crashed while other
/// threads (here, the HTTP server's) opened and closed descriptors. A child gets only descriptors 0-2, every signal
/// at its default disposition (the server ignores SIGTERM and SIGINT to handle them itself, and ignored signals
/// survive exec) and an empty signal mask.
enum ChildProcess {
    /// How a child ended.
    enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signalled(let signal): "was killed by signal \(signal)"
            }
        }
    }

    /// What a child's descriptor 1 or 2 is.
    enum Output: Sendable {
        /// /dev/null.
        case discard
        /// Appended to this file, created 0600 if missing.
        case append(String)
        /// The same as standard output (standard error only).
        case standardOutput
    }

    struct SpawnError: Error, CustomStringConvertible {
        let description: String
    }

    /// Starts `executable` (looked up in PATH when it has no slash) with `arguments` (argv[1...]) and exactly
    /// `environment`, standard input from /dev/null. `newProcessGroup` makes it the leader of a process group of its
    /// own, so that a signal to the group reaches whatever it starts too and a Ctrl-C at the terminal does not.
    static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String], standardOutput: Output, standardError: Output,
        newProcessGroup: Bool = false
    ) throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (descriptor, output) in [(Int32(1), standardOutput), (Int32(2), standardError)] {
            switch output {
            case .discard: posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0)
            case .append(let path): posix_spawn_file_actions_addopen(&actions, descriptor, path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            case .standardOutput: posix_spawn_file_actions_adddup2(&actions, 1, 2)
            }
        }
        closeFrom3(&actions)
        return try spawn(executable, arguments, environment: environment, actions: &actions, newProcessGroup: newProcessGroup)
    }

    /// Runs `executable` to its end on a thread of its own and returns how it ended with its standard output and
    /// standard error (each cut at `limit` bytes). Killed (SIGKILL) if the stand-in shuts down meanwhile.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String], limit: Int = 1 << 20) async
        -> Result<(termination: Termination, output: Data, errors: Data), SpawnError>
    {
        await Blocking.run {
            var outputPipe: [Int32] = [-1, -1]
            var errorPipe: [Int32] = [-1, -1]
            guard makePipe(&outputPipe) else { return .failure(SpawnError(description: "pipe: \(errnoText())")) }
            guard makePipe(&errorPipe) else {
                close(outputPipe[0])
                close(outputPipe[1])
                return .failure(SpawnError(description: "pipe: \(errnoText())"))
            }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
            posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
            closeFrom3(&actions)
            let spawned: pid_t?
            let failure: SpawnError?
            do {
                spawned = try spawn(executable, arguments, environment: environment, actions: &actions, newProcessGroup: false)
                failure = nil
            } catch {
                spawned = nil
                failure = error as? SpawnError ?? SpawnError(description: "could not start \(executable): \(error)")
            }
            close(outputPipe[1])
            close(errorPipe[1])
            defer {
                close(outputPipe[0])
                close(errorPipe[0])
            }
            guard let pid = spawned else { return .failure(failure ?? SpawnError(description: "could not start \(executable)")) }
            helpers.insert(pid)
            defer { helpers.remove(pid) }
            // Standard output first, then standard error: curl writes little to standard error, well under a pipe's buffer.
            let output = readAll(outputPipe[0], limit: limit)
            let errors = readAll(errorPipe[0], limit: limit)
            return .success((wait(pid), output, errors))
        }
    }

    /// Waits on a thread of its own for `pid` to end and reaps it.
    static func waitForExit(_ pid: pid_t) async -> Termination {
        await Blocking.run { wait(pid) }
    }

    /// Kills (SIGKILL) every helper that `run` started and that still runs, when the stand-in shuts down.
    static func killHelpers() {
        for pid in helpers.all { kill(pid, SIGKILL) }
    }

    // MARK: Details

    private static let helpers = PIDSet()

    private static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String], actions: inout posix_spawn_file_actions_t, newProcessGroup: Bool
    ) throws(SpawnError) -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        sigfillset(&signals)
        posix_spawnattr_setsigdefault(&attributes, &signals)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let status = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw SpawnError(description: "could not start \(executable): \(String(cString: strerror(status)))") }
        return pid
    }

    /// Closes every descriptor from 3 up in the child (glibc 2.34+; Swift's Glibc module does not declare it).
    private static func closeFrom3(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
        guard let symbol = closeFromSymbol else { return }
        _ = unsafeBitCast(symbol.pointer, to: CloseFrom.self)(&actions, 3)
    }

    private static let closeFromSymbol: SymbolAddress? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map(SymbolAddress.init)

    /// A function's address, which never changes once the library is loaded.
    private struct SymbolAddress: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
    }

    /// A pipe whose ends close on exec (children started here close every descriptor from 3 up anyway).
    private static func makePipe(_ ends: inout [Int32]) -> Bool {
        guard pipe(&ends) == 0 else { return false }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return true
    }

    private static func readAll(_ descriptor: Int32, limit: Int) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            if data.count < limit { data.append(contentsOf: buffer[0..<min(count, limit - data.count)]) }
        }
        return data
    }

    /// Blocks until `pid` ends and reaps it.
    private static func wait(_ pid: pid_t) -> Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { return .exited(-1) }
        }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// Process ids, safe to share between threads.
private final class PIDSet: @unchecked Sendable {
    // @unchecked Sendable: `pids` is only touched under `lock`.
    private let lock = NSLock()
    private var pids: Set<pid_t> = []

    func insert(_ pid: pid_t) { lock.withLock { _ = pids.insert(pid) } }
    func remove(_ pid: pid_t) { lock.withLock { _ = pids.remove(pid) } }
    var all: [pid_t] { lock.withLock { Array(pids) } }
}

/// Runs blocking work (waitpid, reading a child's output, file work) on a thread of its own, off Swift's
/// cooperative pool, and awaits its result.
enum Blocking {
    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.start()
        }
    }
}

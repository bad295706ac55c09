#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs blocking work on a new detached thread, off Swift's cooperative pool, and awaits its result.
enum BlockingThread {
    /// The error when no thread could be started.
    static let unavailable = HTTPClientError(.unavailable, "could not start a thread for the HTTP transfer")

    /// Runs `work` on its own thread; returns `fallback` if the thread cannot be started.
    static func run<T: Sendable>(fallback: T, _ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            let job = Job { continuation.resume(returning: work()) }
            let argument = Unmanaged.passRetained(job).toOpaque()
            #if canImport(Glibc)
            var thread = pthread_t()
            #else
            var thread: pthread_t?
            #endif
            let started = pthread_create(&thread, nil, { argument in
                guard let argument else { return nil }
                Unmanaged<Job>.fromOpaque(argument).takeRetainedValue().body()
                return nil
            }, argument)
            if started == 0 {
                #if canImport(Glibc)
                pthread_detach(thread)
                #else
                if let thread { pthread_detach(thread) }
                #endif
            } else {
                Unmanaged<Job>.fromOpaque(argument).release()
                continuation.resume(returning: fallback)
            }
        }
    }

    private final class Job: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}

import Foundation

/// Runs blocking work (file copies, `fsync`, synchronous SQLite calls) on a thread of its own, off Swift's
/// cooperative pool, and awaits its result.
enum BlockingWork {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try work() })
            }
            thread.start()
        }
    }
}

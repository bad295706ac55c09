import Dispatch
import GRDB
import Synchronization

/// Group commit (SECURITY.md, "Durability and speed"): write transactions that arrive while another one commits
/// wait for it, then share the next commit, so that one fsync makes many answers durable.
///
/// Each waiting transaction runs in a savepoint of its own inside that one SQLite transaction, in arrival order: a
/// transaction whose body throws rolls back alone, as if it had run by itself; the others still commit. Every caller
/// is resumed only after the commit that holds its writes returned, so no answer reports a write that is not durable.
/// When the commit itself fails (a full disk, an I/O error), every transaction of the group fails with that error.
final class GroupCommit: Sendable {
    /// The most transactions that share one commit (a bound on how long the last of them waits).
    static let groupLimit = 128

    private let pool: DatabasePool
    private let waiting = Waiting()
    /// Where groups are committed from: the writer connection runs them synchronously, off the cooperative pool.
    private let drainQueue = DispatchQueue(label: "agentbox.group-commit")

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `body` in the next group's commit, on the writer connection (off the cooperative thread pool).
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let waiting = self.waiting
        let value = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let job = Job(body: { try body($0) }, finish: { continuation.resume(with: $0) })
            if waiting.add(job) {
                // The drain holds the pool only while it writes, and resumes its callers after: a caller that lets the
                // database go then closes it at once, as with a plain write (another process may open the file next).
                drainQueue.async { [weak pool] in
                    waiting.drain { body in
                        guard let pool else { throw StorageError(code: .unexpected, message: "the database was closed while a write waited") }
                        try pool.writeWithoutTransaction(body)
                    }
                }
            }
        }
        // The job's body returned a T: nothing else is ever put in its result.
        return value as! T
    }
}

/// One waiting transaction: its body, and how to resume its caller.
private struct Job: Sendable {
    let body: @Sendable (Database) throws -> any Sendable
    let finish: @Sendable (Result<any Sendable, any Error>) -> Void
}

/// The transactions waiting for the writer connection, and how they are committed.
private final class Waiting: Sendable {
    private struct Queue {
        var jobs: [Job] = []
        /// Whether a drain is scheduled on the writer connection (it takes every job queued meanwhile).
        var draining = false
    }

    private let queue = Mutex(Queue())

    /// Queues `job`; true when the caller must schedule a drain.
    func add(_ job: Job) -> Bool {
        queue.withLock { queue in
            queue.jobs.append(job)
            defer { queue.draining = true }
            return !queue.draining
        }
    }

    /// Commits groups until no job is waiting, each through `write` (a synchronous write on the writer connection),
    /// and resumes each group's callers once that write has returned.
    func drain(_ write: ((Database) throws -> Void) throws -> Void) {
        while true {
            let group: [Job] = queue.withLock { queue in
                guard !queue.jobs.isEmpty else {
                    queue.draining = false
                    return []
                }
                let group = Array(queue.jobs.prefix(GroupCommit.groupLimit))
                queue.jobs.removeFirst(group.count)
                return group
            }
            if group.isEmpty { return }
            var outcomes: [Result<any Sendable, any Error>] = []
            do {
                try write { db in try Self.commit(group, db, into: &outcomes) }
            } catch {
                // The commit failed (a full disk, an I/O error): every job without an error of its own fails with it.
                outcomes = group.indices.map { index in
                    if index < outcomes.count, case .failure(let own) = outcomes[index] { return .failure(own) }
                    return .failure(error)
                }
            }
            for (job, outcome) in zip(group, outcomes) { job.finish(outcome) }
        }
    }

    /// Runs each job of `group` in its own savepoint of one transaction and commits, appending each job's outcome.
    private static func commit(_ group: [Job], _ db: Database, into outcomes: inout [Result<any Sendable, any Error>]) throws {
        try db.inTransaction(.immediate) {
            for job in group {
                var value: (any Sendable)?
                do {
                    try db.inSavepoint {
                        value = try job.body(db)
                        return .commit
                    }
                    outcomes.append(.success(value!))
                } catch {
                    // SQLite ends the whole transaction on some errors (a full disk, I/O): then nothing commits.
                    guard db.isInsideTransaction else { throw error }
                    outcomes.append(.failure(error))
                }
            }
            return .commit
        }
    }
}

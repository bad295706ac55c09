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
    /// One waiting transaction: its body, and how to resume its caller.
    private struct Job: Sendable {
        let body: @Sendable (Database) throws -> any Sendable
        let finish: @Sendable (Result<any Sendable, any Error>) -> Void
    }

    private struct Queue {
        var jobs: [Job] = []
        /// Whether a drain is scheduled on the writer connection (it takes every job queued meanwhile).
        var draining = false
    }

    /// The most transactions that share one commit (a bound on how long the last of them waits).
    static let groupLimit = 128

    private let pool: DatabasePool
    private let queue = Mutex(Queue())

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `body` in the next group's commit, on the writer connection (off the cooperative thread pool).
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let value = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let job = Job(body: { try body($0) }, finish: { continuation.resume(with: $0) })
            let schedule = queue.withLock { queue in
                queue.jobs.append(job)
                defer { queue.draining = true }
                return !queue.draining
            }
            if schedule {
                pool.asyncWriteWithoutTransaction { db in self.drain(db) }
            }
        }
        // The job's body returned a T: nothing else is ever put in its result.
        return value as! T
    }

    /// Commits groups until no job is waiting.
    private func drain(_ db: Database) {
        while true {
            let group: [Job] = queue.withLock { queue in
                guard !queue.jobs.isEmpty else {
                    queue.draining = false
                    return []
                }
                let group = Array(queue.jobs.prefix(Self.groupLimit))
                queue.jobs.removeFirst(group.count)
                return group
            }
            if group.isEmpty { return }
            commit(group, db)
        }
    }

    /// Runs each job of `group` in its own savepoint of one transaction, commits, then resumes the callers.
    private func commit(_ group: [Job], _ db: Database) {
        var outcomes: [Result<any Sendable, any Error>] = []
        do {
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
        } catch {
            for (index, job) in group.enumerated() {
                if index < outcomes.count, case .failure(let own) = outcomes[index] {
                    job.finish(.failure(own))
                } else {
                    job.finish(.failure(error))
                }
            }
            return
        }
        for (job, outcome) in zip(group, outcomes) { job.finish(outcome) }
    }
}

import Foundation
import GRDB
import Synchronization
import TestSupport
import Testing

@testable import Storage

/// Group commit: transactions that arrive together share a commit, yet each keeps its own outcome.
struct GroupCommitTests {
    private struct Refused: Error {}

    /// Counts the commits of the writer connection.
    private final class CommitCounter: TransactionObserver, Sendable {
        let commits = Mutex(0)
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { commits.withLock { $0 += 1 } }
        func databaseDidRollback(_ db: Database) {}
    }

    @Test func concurrentTransactionsAllCommitAndAFailingOneRollsBackAlone() async throws {
        let test = try TestDatabase()
        let counter = CommitCounter()
        try await test.database.pool.writeWithoutTransaction { db in db.add(transactionObserver: counter, extent: .observerLifetime) }
        let count = 200
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for number in 0..<count {
                group.addTask {
                    do {
                        let user = try await test.database.transaction { tx in
                            let user = try tx.insert(User(name: "user-\(number)"))
                            // Every 10th transaction writes, then fails: its row must not survive, the others' must.
                            if number % 10 == 0 { throw Refused() }
                            return user
                        }
                        return (number, user.name == "user-\(number)")
                    } catch {
                        return (number, error is Refused && number % 10 == 0)
                    }
                }
            }
            return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes.count == count && outcomes.values.allSatisfy { $0 }, "each caller got its own transaction's outcome")
        let names = try await test.database.read { db in try String.fetchAll(db, sql: "SELECT name FROM users ORDER BY name") }
        #expect(Set(names) == Set((0..<count).filter { $0 % 10 != 0 }.map { "user-\($0)" }))
        // Transactions that waited for a commit shared the next one: fewer commits than transactions.
        let commits = counter.commits.withLock { $0 }
        #expect(commits > 0 && commits < count - count / 10, "\(commits) commits for \(count - count / 10) committed transactions")
    }

    @Test func aConstraintViolationFailsOnlyItsOwnTransactionAndNamesTheConstraint() async throws {
        let test = try TestDatabase()
        _ = try await test.database.transaction { tx in try tx.insert(User(name: "taken")) }
        let duplicate = Task { try await test.database.transaction { tx in try tx.insert(User(name: "taken")) } }
        let fresh = Task { try await test.database.transaction { tx in try tx.insert(User(name: "fresh")) } }
        let error = await #expect(throws: StorageError.self) { try await duplicate.value }
        #expect(error?.code == .uniqueViolation)
        #expect(try await fresh.value.name == "fresh")
        let count = try await test.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM users") }
        #expect(count == 2)
    }
}

import Foundation
import GRDB
import TestSupport
import Testing

@testable import Storage

/// A migrated database in a fresh temporary folder, removed when the value goes away.
final class TestDatabase: Sendable {
    let directory: URL
    let database: AppDatabase

    var path: String { database.path }

    /// Makes a new folder and a migrated database in it.
    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("agentbox-storage-tests-\(UUID().uuidString.lowercased())", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        database = try AppDatabase.open(path: directory.appendingPathComponent("agentbox.sqlite").path)
        try database.migrate()
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs raw SQL on the writer connection, as a hand-made row or a buggy caller would.
    func execute(_ sql: String, _ arguments: StatementArguments = []) async throws {
        try await database.write { db in try db.execute(sql: sql, arguments: arguments) }
    }

    /// Inserts `values` into `table` with raw SQL, bypassing the records; rolls the insert back unless `keep`.
    func insertRow(_ table: String, _ values: [String: DatabaseValue], keep: Bool = true) async throws {
        let columns = values.keys.sorted()
        let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
        let arguments = StatementArguments(columns.map { values[$0]! })
        try await database.write { db in
            try db.inSavepoint {
                try db.execute(sql: sql, arguments: arguments)
                return keep ? .commit : .rollback
            }
        }
    }

    /// Rows of `table`.
    func count(_ table: String) async throws -> Int {
        try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    /// Records a failed expectation if any row refers to a missing parent.
    func expectNoDanglingRows(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let violations = try database.foreignKeyViolations()
        #expect(violations.isEmpty, "dangling rows: \(violations)", sourceLocation: sourceLocation)
    }

    /// Inserts the shared fixture chain (user → agent → catalog tool → toolbox with its token → instance →
    /// access → toolbelt item → permission, plus agent and user tokens) and a credential with a random blob.
    @discardableResult
    func seedChain(name: String = "ada") async throws -> StorageChain {
        let chain = try await Fixtures.seedChain(database, name: name)
        let credential = try await database.insert(
            AgentToolCredential(
                agentToolbeltItemID: chain.toolbeltItemID,
                credentialType: "api_key",
                encryptedCredentials: randomData(),
                accountIdentifier: "user@gm***.com"))
        return StorageChain(base: chain, credentialID: credential.id)
    }
}

/// The fixture chain's ids and the credential that Storage tests add to it.
@dynamicMemberLookup
struct StorageChain: Sendable {
    var base: SeededChain
    var credentialID: UUID

    subscript<Value>(dynamicMember keyPath: KeyPath<SeededChain, Value>) -> Value { base[keyPath: keyPath] }
}

/// Random bytes, e.g. for a token hash or a stand-in sealed blob.
func randomData(count: Int = 32) -> Data { Fixtures.randomData(count: count) }

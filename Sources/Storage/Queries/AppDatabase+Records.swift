import Foundation
import GRDB

/// Typed building blocks that every table's queries share; internal, so no SQL or GRDB request leaves Storage.
extension AppDatabase {
    /// Inserts `record` and returns it as stored (with any key the database assigned).
    func insertRecord<Record: StorageRecord>(_ record: Record) async throws -> Record {
        try await write { db in try record.inserted(db) }
    }

    /// The row whose primary key is `key`, or nil.
    func fetchRecord<Record: StorageRecord>(_ type: Record.Type, key: some DatabaseValueConvertible & Sendable) async throws -> Record? {
        try await read { db in try Record.fetchOne(db, key: key) }
    }

    /// Replaces the stored row of `record`; throws ``StorageError/Code/notFound`` if there is none.
    func updateRecord<Record: StorageRecord>(_ record: Record) async throws {
        try await write { db in try record.update(db) }
    }

    /// Deletes the row whose primary key is `key`; throws ``StorageError/Code/notFound`` if there is none.
    func deleteRecord<Record: StorageRecord>(_ type: Record.Type, key: some DatabaseValueConvertible & Sendable) async throws {
        let deleted = try await write { db in try Record.deleteOne(db, key: key) }
        if !deleted {
            throw StorageError(
                code: .notFound,
                message: "no \(Record.databaseTableName) row has that id; it may already have been deleted",
                table: Record.databaseTableName)
        }
    }

    /// The rows whose `column` holds `id`, oldest first (by rowid, i.e. insertion order).
    func fetchRecords<Record: StorageRecord>(_ type: Record.Type, where column: some CodingKey, is id: UUID) async throws -> [Record] {
        let column = column.stringValue
        return try await read { db in
            try Record.filter(Column(column) == id.storageText).order(Column.rowID).fetchAll(db)
        }
    }
}

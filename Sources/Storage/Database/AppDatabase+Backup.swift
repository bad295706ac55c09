import Foundation
import GRDB

extension AppDatabase {
    /// Copies a consistent snapshot of the database into the SQLite file at `path` with SQLite's online backup API.
    ///
    /// Reads only: the copy is made in one step inside one read transaction on a WAL reader, so it is the database as
    /// of one commit while writers (this process or a running server) go on. `path` must be an empty file the caller
    /// created (with the permissions it wants: SQLite keeps them). The copy is left in rollback-journal mode, a single
    /// self-contained file, and its `PRAGMA integrity_check` result is returned (`["ok"]` when sound).
    public func backup(to path: String) async throws -> [String] {
        let destination: DatabaseQueue
        do {
            destination = try DatabaseQueue(path: path)
        } catch {
            throw StorageError.mapping(error)
        }
        do {
            try await pool.read { source in
                try destination.writeWithoutTransaction { target in
                    try source.backup(to: target)
                }
            }
            let integrity = try await destination.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                return try String.fetchAll(db, sql: "PRAGMA integrity_check")
            }
            try destination.close()
            return integrity
        } catch {
            try? destination.close()
            throw StorageError.mapping(error)
        }
    }

    /// Empties the write-ahead log into the database file (`PRAGMA wal_checkpoint(TRUNCATE)`), so the file alone
    /// holds every commit. Blocks the caller: for maintenance commands, not request paths.
    public func checkpoint() throws {
        do {
            try pool.writeWithoutTransaction { db in
                _ = try db.checkpoint(.truncate)
            }
        } catch {
            throw StorageError.mapping(error)
        }
    }

    /// Closes every connection; the database cannot be used afterwards. Blocks the caller.
    ///
    /// The `-wal` and `-shm` files may stay behind: GRDB closes its read-only readers last, and a read-only
    /// connection cannot remove them. Call ``checkpoint()`` first to leave the log empty.
    public func close() throws {
        do {
            try pool.close()
        } catch {
            throw StorageError.mapping(error)
        }
    }
}

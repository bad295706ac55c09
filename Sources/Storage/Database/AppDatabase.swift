import Foundation
import GRDB

/// agentbox's SQLite database: one file in WAL mode, opened once and shared by the whole process.
///
/// Every connection has foreign keys on and a 5 s busy time-out; writes use `synchronous = FULL`, so a write
/// that returned is durable. All errors thrown are ``StorageError``s (or `CancellationError`).
public final class AppDatabase: Sendable {
    /// The pool of connections: one writer, several WAL readers.
    let pool: DatabasePool

    /// The path of the database file.
    public let path: String

    /// Write transactions that arrive together share one commit.
    private let commits: GroupCommit

    /// How long a connection waits for another one's lock before failing with ``StorageError/Code/busy``.
    static let busyTimeout: TimeInterval = 5

    private init(pool: DatabasePool, path: String) {
        self.pool = pool
        self.path = path
        self.commits = GroupCommit(pool: pool)
    }

    /// The writer connection, for code inside Storage (and its tests) that needs raw access.
    var writer: any DatabaseWriter { pool }

    /// Opens the database at `path`, creating the file if it is missing. Call ``migrate()`` before use.
    public static func open(path: String) throws -> AppDatabase {
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets `synchronous = NORMAL` when it switches the writer to WAL; agentbox wants FULL.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            return AppDatabase(pool: pool, path: path)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CANTOPEN {
            throw StorageError(
                code: .cannotOpen,
                message: "cannot open or create the database file at \(path); check that its folder exists "
                    + "and that the service user may read and write both",
                cause: error)
        } catch {
            throw StorageError.mapping(error)
        }
    }

    /// Opens the database at `path`, which must exist (for commands that must not create an empty one by mistake).
    public static func openExisting(path: String) throws -> AppDatabase {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw StorageError(
                code: .cannotOpen,
                message: "there is no database file at \(path); check the configured data directory, "
                    + "or start the service once to create it")
        }
        return try open(path: path)
    }

    /// The per-connection setup of every connection of the pool.
    private static var configuration: Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "agentbox"
        configuration.prepareDatabase { db in
            // Also for the pool's readers, to which GRDB gives a busy mode of its own.
            try db.execute(sql: "PRAGMA busy_timeout = \(Int(busyTimeout * 1_000))")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return configuration
    }
}

// MARK: - Access that maps errors

extension AppDatabase {
    /// Reads on a WAL reader connection, off the cooperative thread pool, mapping errors to ``StorageError``.
    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw StorageError.mapping(error)
        }
    }

    /// Writes in one transaction on the writer connection, off the cooperative thread pool, mapping errors; the
    /// commit may be shared with other writes that arrived meanwhile (``GroupCommit``), never answered before it.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await commits.write(body)
        } catch {
            throw StorageError.mapping(error)
        }
    }

    /// Reads synchronously, blocking the caller (for start-up checks and tools, not request paths).
    func readBlocking<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch {
            throw StorageError.mapping(error)
        }
    }
}

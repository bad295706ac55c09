import Logging
import Storage
import Vault

/// An opened data directory: the database, migrated and checked, and the unsealed vault.
public final class Backend: Sendable {
    /// How a process uses the data directory.
    public enum Mode: Sendable {
        /// `serve` and `admin create`: creates what is missing, holds the lock, makes the vault on first start.
        case create
        /// An offline command that writes: needs an existing database and vault, holds the lock.
        case offlineWrite
        /// An offline command that only reads: needs an existing database and vault, takes no lock.
        case offlineRead
    }

    public let directory: DataDirectory
    public let database: AppDatabase
    public let vault: Vault
    private let lock: DataDirectoryLock?

    private init(directory: DataDirectory, database: AppDatabase, vault: Vault, lock: DataDirectoryLock?) {
        self.directory = directory
        self.database = database
        self.vault = vault
        self.lock = lock
    }

    /// Opens the data directory for `mode`; fails with a message that says what to do.
    public static func open(
        _ directory: DataDirectory, keys: MasterKeyConfiguration, mode: Mode, logger: Logger
    ) async throws -> Backend {
        var lock: DataDirectoryLock?
        let database: AppDatabase
        switch mode {
        case .create:
            try directory.create()
            lock = try DataDirectoryLock.acquire(directory)
            database = try AppDatabase.open(path: directory.databasePath)
            try migrate(database, logger: logger)
        case .offlineWrite:
            try directory.requireDatabase()
            lock = try DataDirectoryLock.acquire(directory)
            database = try AppDatabase.openExisting(path: directory.databasePath)
            try migrate(database, logger: logger)
        case .offlineRead:
            try directory.requireDatabase()
            database = try AppDatabase.openExisting(path: directory.databasePath)
        }
        let quick = try database.quickCheck()
        guard quick == ["ok"] else {
            throw ServiceError(
                .dataDirectoryUnusable,
                "the database \(directory.databasePath) is damaged (quick_check: \(quick.prefix(3).joined(separator: "; "))); restore it from a backup")
        }
        let store = DatabaseVaultStore(database: database)
        if mode != .create, try await store.loadHeader() == nil {
            throw ServiceError(.notInitialized, "the vault in \(directory.path) has not been created yet; start `agentbox serve` once to create it")
        }
        let vault = try await Vault.unseal(keys, store: store)
        logger.info("vault unsealed", metadata: ["master_key": "\(vault.masterKeyOrigin)", "data_key_version": "\(vault.activeKeyVersion)"])
        return Backend(directory: directory, database: database, vault: vault, lock: lock)
    }

    private static func migrate(_ database: AppDatabase, logger: Logger) throws {
        let before = try database.schemaVersion()
        try database.migrate()
        let applied = try database.schemaVersion().filter { !before.contains($0) }
        if !applied.isEmpty {
            logger.notice("database migrated", metadata: ["applied": "\(applied.joined(separator: ","))"])
        }
    }
}

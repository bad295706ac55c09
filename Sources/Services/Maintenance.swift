import Storage

/// Offline database maintenance behind `agentbox db`.
public enum Maintenance {
    /// What `db check` found.
    public struct CheckReport: Sendable {
        public var integrity: [String]
        public var foreignKeyViolations: [String]
        /// Integrity is "ok" and no foreign key dangles.
        public var isClean: Bool { integrity == ["ok"] && foreignKeyViolations.isEmpty }
    }

    /// Creates or migrates the database under the data directory's lock; returns the migrations applied.
    public static func migrate(_ directory: DataDirectory) async throws -> [String] {
        try directory.create()
        let lock = try DataDirectoryLock.acquire(directory)
        defer { withExtendedLifetime(lock) {} }
        let database = try AppDatabase.open(path: directory.databasePath)
        let before = try database.schemaVersion()
        try database.migrate()
        return try database.schemaVersion().filter { !before.contains($0) }
    }

    /// Runs `PRAGMA integrity_check` and `PRAGMA foreign_key_check`; reads only.
    public static func check(_ directory: DataDirectory) async throws -> CheckReport {
        try directory.requireDatabase()
        let database = try AppDatabase.openExisting(path: directory.databasePath)
        return CheckReport(
            integrity: try database.integrityCheck(),
            foreignKeyViolations: try database.foreignKeyViolations().map { "\($0)" })
    }
}

import GRDB

extension AppDatabase {
    /// Brings the schema up to date; a no-op when it already is.
    ///
    /// Refuses (``StorageError/Code/newerSchema``) a database migrated by a newer agentbox, before touching it.
    public func migrate() throws {
        let migrator = Migrator.databaseMigrator
        let unknown = try readBlocking { db in
            try migrator.hasBeenSuperseded(db) ? migrator.appliedIdentifiers(db).subtracting(migrator.migrations) : []
        }
        if !unknown.isEmpty {
            throw StorageError(
                code: .newerSchema,
                message: "this database was written by a newer agentbox (schema has migrations this version does not know: "
                    + unknown.sorted().joined(separator: ", ")
                    + "); install that version or restore a backup")
        }
        do {
            try migrator.migrate(pool)
        } catch {
            throw StorageError.mapping(error)
        }
        // A reader opened before the migration (the check above opened one) keeps the old schema's column lists:
        // `SELECT *` there would miss the new columns. Later reads get fresh connections.
        pool.invalidateReadOnlyConnections()
    }

    /// The identifiers of the applied migrations, sorted, including any this version does not know.
    public func schemaVersion() throws -> [String] {
        try readBlocking { db in
            try Migrator.databaseMigrator.appliedIdentifiers(db).sorted()
        }
    }
}

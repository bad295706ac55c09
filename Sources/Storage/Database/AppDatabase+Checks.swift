import GRDB

extension AppDatabase {
    /// `PRAGMA quick_check`: `["ok"]` when the file is sound, otherwise one line per problem. Meant for start-up.
    public func quickCheck() throws -> [String] {
        try readPragma { db in
            try String.fetchAll(db, sql: "PRAGMA quick_check")
        }
    }

    /// `PRAGMA integrity_check`: `["ok"]` when the file is sound. Slower and more thorough than ``quickCheck()``.
    public func integrityCheck() throws -> [String] {
        try readPragma { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check")
        }
    }

    /// `PRAGMA foreign_key_check`: every row that refers to a missing parent; empty when nothing dangles.
    public func foreignKeyViolations() throws -> [ForeignKeyViolation] {
        try readPragma { db in
            try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { row in
                ForeignKeyViolation(table: row[0], rowid: row[1], parent: row[2])
            }
        }
    }

    /// Runs a checking PRAGMA on a reader whose schema is current.
    ///
    /// A PRAGMA is compiled against the connection's cached schema, and a reader opened before a migration may still
    /// hold the old one (then `foreign_key_check` silently checks no table). A SELECT on `sqlite_master` verifies the
    /// schema cookie and reloads the schema first.
    private func readPragma<T>(_ body: (Database) throws -> T) throws -> T {
        try readBlocking { db in
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
            return try body(db)
        }
    }
}

import GRDB

/// Migrations 003 and 004 checked only the first 8 characters of `registry_credentials.id` and
/// `cloud_credentials.id`, so an uppercase UUID starting with 8 digits passed. SQLite cannot change a CHECK
/// constraint in place: both tables are rebuilt with the whole lowercase UUID checked, rows and ids kept.
enum Migration006FullIdChecks {
    static let identifier = "006_full_id_checks"

    private static let time = "GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'"
    private static let uuid = "GLOB '" + [8, 4, 4, 4, 12].map { String(repeating: "[0-9a-f]", count: $0) }.joined(separator: "-") + "'"

    static func migrate(_ db: Database) throws {
        let tables = [
            (
                "registry_credentials",
                """
                id TEXT NOT NULL PRIMARY KEY CONSTRAINT "registry_credentials.id" CHECK (id \(uuid)),
                registry TEXT NOT NULL UNIQUE CONSTRAINT "registry_credentials.registry"
                    CHECK (registry <> '' AND registry NOT GLOB '*[/ ]*'),
                username TEXT NOT NULL CONSTRAINT "registry_credentials.username" CHECK (username <> ''),
                encrypted_password BLOB NOT NULL CONSTRAINT "registry_credentials.encrypted_password" CHECK (length(encrypted_password) > 0),
                created_at TEXT NOT NULL CONSTRAINT "registry_credentials.created_at" CHECK (created_at \(time)),
                updated_at TEXT NOT NULL CONSTRAINT "registry_credentials.updated_at" CHECK (updated_at \(time))
                """,
                "id, registry, username, encrypted_password, created_at, updated_at"
            ),
            (
                "cloud_credentials",
                """
                id TEXT NOT NULL PRIMARY KEY CONSTRAINT "cloud_credentials.id" CHECK (id \(uuid)),
                provider TEXT NOT NULL UNIQUE CONSTRAINT "cloud_credentials.provider" CHECK (provider IN ('digitalocean')),
                encrypted_token BLOB NOT NULL CONSTRAINT "cloud_credentials.encrypted_token" CHECK (length(encrypted_token) > 0),
                account_email TEXT,
                account_uuid TEXT,
                validated_at TEXT NOT NULL CONSTRAINT "cloud_credentials.validated_at" CHECK (validated_at \(time)),
                created_at TEXT NOT NULL CONSTRAINT "cloud_credentials.created_at" CHECK (created_at \(time)),
                updated_at TEXT NOT NULL CONSTRAINT "cloud_credentials.updated_at" CHECK (updated_at \(time))
                """,
                "id, provider, encrypted_token, account_email, account_uuid, validated_at, created_at, updated_at"
            ),
        ]
        for (table, columns, names) in tables {
            try db.execute(sql: "CREATE TABLE \(table)_rebuilt (\(columns)) STRICT")
            try db.execute(sql: "INSERT INTO \(table)_rebuilt (\(names)) SELECT \(names) FROM \(table)")
            try db.execute(sql: "DROP TABLE \(table)")
            try db.execute(sql: "ALTER TABLE \(table)_rebuilt RENAME TO \(table)")
        }
    }
}

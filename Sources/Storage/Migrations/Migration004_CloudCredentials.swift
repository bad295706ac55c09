import GRDB

/// The appliance's own cloud credentials: the DigitalOcean API token, sealed by the vault like every secret,
/// with the account it was last checked against. One row per provider.
enum Migration004CloudCredentials {
    static let identifier = "004_cloud_credentials"

    private static let time = "GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'"
    private static let uuid = "GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-*'"

    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE cloud_credentials (
                    id TEXT NOT NULL PRIMARY KEY CONSTRAINT "cloud_credentials.id" CHECK (id \(uuid)),
                    provider TEXT NOT NULL UNIQUE CONSTRAINT "cloud_credentials.provider" CHECK (provider IN ('digitalocean')),
                    encrypted_token BLOB NOT NULL CONSTRAINT "cloud_credentials.encrypted_token" CHECK (length(encrypted_token) > 0),
                    account_email TEXT,
                    account_uuid TEXT,
                    validated_at TEXT NOT NULL CONSTRAINT "cloud_credentials.validated_at" CHECK (validated_at \(time)),
                    created_at TEXT NOT NULL CONSTRAINT "cloud_credentials.created_at" CHECK (created_at \(time)),
                    updated_at TEXT NOT NULL CONSTRAINT "cloud_credentials.updated_at" CHECK (updated_at \(time))
                ) STRICT
                """)
    }
}

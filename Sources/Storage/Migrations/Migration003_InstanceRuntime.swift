import GRDB

/// What running instances needs beyond SCHEMA.md: the image each instance runs (copied from the catalog at
/// deploy and upgrade time, so a catalog change never swaps a running container's image), a restart marker,
/// the version an upgrade may return to, registry credentials sealed by the vault, and each instance's
/// recent events (pulls, starts, crashes, upgrades) for `instance events` and `instance deploy`'s progress.
enum Migration003InstanceRuntime {
    static let identifier = "003_instance_runtime"

    private static let time = "GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'"
    private static let uuid = "GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-*'"

    static func migrate(_ db: Database) throws {
        let table = "account_tool_instances"
        for statement in [
            """
            ALTER TABLE \(table) ADD COLUMN image_ref TEXT
                CONSTRAINT "\(table).image_ref" CHECK (image_ref IS NULL OR image_ref <> '')
            """,
            """
            ALTER TABLE \(table) ADD COLUMN restart_requested_at TEXT
                CONSTRAINT "\(table).restart_requested_at" CHECK (restart_requested_at IS NULL OR restart_requested_at \(time))
            """,
            """
            ALTER TABLE \(table) ADD COLUMN previous_version TEXT
                CONSTRAINT "\(table).previous_version" CHECK (previous_version IS NULL OR previous_version <> '')
            """,
            """
            ALTER TABLE \(table) ADD COLUMN previous_image_ref TEXT
                CONSTRAINT "\(table).previous_image_ref" CHECK (previous_image_ref IS NULL OR previous_image_ref <> '')
            """,
            // Instances deployed before this migration run the catalog's image of today.
            "UPDATE \(table) SET image_ref = (SELECT docker_image_url FROM tool_catalog WHERE tool_catalog.id = \(table).tool_catalog_id)",
            """
            CREATE TABLE registry_credentials (
                id TEXT NOT NULL PRIMARY KEY CONSTRAINT "registry_credentials.id" CHECK (id \(uuid)),
                registry TEXT NOT NULL UNIQUE CONSTRAINT "registry_credentials.registry"
                    CHECK (registry <> '' AND registry NOT GLOB '*[/ ]*'),
                username TEXT NOT NULL CONSTRAINT "registry_credentials.username" CHECK (username <> ''),
                encrypted_password BLOB NOT NULL CONSTRAINT "registry_credentials.encrypted_password" CHECK (length(encrypted_password) > 0),
                created_at TEXT NOT NULL CONSTRAINT "registry_credentials.created_at" CHECK (created_at \(time)),
                updated_at TEXT NOT NULL CONSTRAINT "registry_credentials.updated_at" CHECK (updated_at \(time))
            ) STRICT
            """,
            """
            CREATE TABLE instance_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                account_tool_instance_id TEXT NOT NULL REFERENCES account_tool_instances(id) ON DELETE CASCADE,
                at TEXT NOT NULL CONSTRAINT "instance_events.at" CHECK (at \(time)),
                kind TEXT NOT NULL CONSTRAINT "instance_events.kind" CHECK (kind <> ''),
                message TEXT NOT NULL
            ) STRICT
            """,
            "CREATE INDEX instance_events_instance ON instance_events(account_tool_instance_id, id)",
        ] {
            try db.execute(sql: statement)
        }
    }
}

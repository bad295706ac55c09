import GRDB

/// The first schema: the seven tables of the original design plus the appliance's own tables.
///
/// Conventions, enforced by named CHECK constraints (`"table.column"`, so errors can name them):
/// ids are lowercase UUID text; times are ISO-8601 UTC text with milliseconds and `Z` (see `Timestamp`);
/// enums are CHECKs listing their values; JSON columns are `json_valid`; booleans are 0 or 1.
/// Tables are STRICT, so a column only ever holds its declared type.
///
/// A shipped migration never changes: later schema changes are new migrations.
enum Migration001InitialSchema {
    static let identifier = "001_initial_schema"

    static func migrate(_ db: Database) throws {
        for statement in statements {
            try db.execute(sql: statement)
        }
    }

    // MARK: - Tables

    static let statements: [String] = [
        """
        CREATE TABLE users (
            \(uuidKey("users")),
            name TEXT NOT NULL UNIQUE \(nonEmpty("users", "name")),
            role TEXT NOT NULL \(oneOf("users", "role", ["admin", "user"])),
            \(time("users", "created_at")),
            \(time("users", "updated_at"))
        ) STRICT
        """,

        """
        CREATE TABLE agents (
            \(uuidKey("agents")),
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
            name TEXT NOT NULL \(nonEmpty("agents", "name")),
            description TEXT,
            \(time("agents", "created_at")),
            \(time("agents", "updated_at")),
            UNIQUE (user_id, name)
        ) STRICT
        """,

        """
        CREATE TABLE account_tool_environments (
            \(uuidKey("account_tool_environments")),
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
            droplet_id INTEGER,
            name TEXT NOT NULL \(nonEmpty("account_tool_environments", "name")),
            region TEXT,
            size_slug TEXT,
            status TEXT NOT NULL \(oneOf("account_tool_environments", "status", [
                "pending_provision", "provisioning", "active", "error", "pending_deprovision", "deprovisioning", "archived",
            ])),
            dtma_bearer_token TEXT REFERENCES api_tokens(id) ON DELETE SET NULL,
            public_ip_address TEXT,
            provider TEXT NOT NULL \(oneOf("account_tool_environments", "provider", ["local", "digitalocean"])),
            status_detail TEXT,
            current_operation TEXT,
            reachability TEXT NOT NULL DEFAULT 'unknown'
                \(oneOf("account_tool_environments", "reachability", ["unknown", "reachable", "unreachable"])),
            \(time("account_tool_environments", "created_at")),
            \(time("account_tool_environments", "updated_at"))
        ) STRICT
        """,

        """
        CREATE TABLE tool_catalog (
            \(uuidKey("tool_catalog")),
            name TEXT NOT NULL \(nonEmpty("tool_catalog", "name")),
            description TEXT,
            docker_image_url TEXT NOT NULL \(nonEmpty("tool_catalog", "docker_image_url")),
            default_config_json_schema TEXT NOT NULL \(json("tool_catalog", "default_config_json_schema")),
            required_capabilities_schema TEXT NOT NULL \(json("tool_catalog", "required_capabilities_schema")),
            required_secrets_schema TEXT NOT NULL \(json("tool_catalog", "required_secrets_schema")),
            version TEXT NOT NULL \(nonEmpty("tool_catalog", "version")),
            is_enabled INTEGER NOT NULL \(boolean("tool_catalog", "is_enabled")),
            container_port INTEGER NOT NULL
                \(check("tool_catalog", "container_port", "container_port BETWEEN 1 AND 65535")),
            protocol TEXT NOT NULL \(oneOf("tool_catalog", "protocol", ["agentbox-v1", "mcp"])),
            memory_limit_mb INTEGER \(check("tool_catalog", "memory_limit_mb", "memory_limit_mb > 0")),
            cpu_limit REAL \(check("tool_catalog", "cpu_limit", "cpu_limit > 0")),
            execute_timeout_ms INTEGER NOT NULL \(check("tool_catalog", "execute_timeout_ms", "execute_timeout_ms > 0")),
            \(time("tool_catalog", "created_at")),
            \(time("tool_catalog", "updated_at"))
        ) STRICT
        """,

        """
        CREATE TABLE account_tool_instances (
            \(uuidKey("account_tool_instances")),
            account_tool_environment_id TEXT NOT NULL REFERENCES account_tool_environments(id) ON DELETE RESTRICT,
            tool_catalog_id TEXT NOT NULL REFERENCES tool_catalog(id) ON DELETE RESTRICT,
            instance_name_on_toolbox TEXT NOT NULL \(nonEmpty("account_tool_instances", "instance_name_on_toolbox")),
            status_on_toolbox TEXT NOT NULL \(oneOf("account_tool_instances", "status_on_toolbox", [
                "pending_deploy", "deploying", "running", "stopped", "error", "pending_delete", "deleting",
            ])),
            port_mapping_json TEXT \(json("account_tool_instances", "port_mapping_json")),
            \(time("account_tool_instances", "last_heartbeat_from_dtma", nullable: true)),
            version TEXT NOT NULL \(nonEmpty("account_tool_instances", "version")),
            base_config_override_json TEXT \(json("account_tool_instances", "base_config_override_json")),
            status_detail TEXT,
            \(time("account_tool_instances", "created_at")),
            \(time("account_tool_instances", "updated_at"))
        ) STRICT
        """,

        """
        CREATE TABLE agent_toolbox_access (
            \(uuidKey("agent_toolbox_access")),
            agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
            account_tool_environment_id TEXT NOT NULL REFERENCES account_tool_environments(id) ON DELETE CASCADE,
            \(time("agent_toolbox_access", "granted_at")),
            UNIQUE (agent_id, account_tool_environment_id)
        ) STRICT
        """,

        """
        CREATE TABLE agent_toolbelt_items (
            \(uuidKey("agent_toolbelt_items")),
            agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
            account_tool_instance_id TEXT NOT NULL REFERENCES account_tool_instances(id) ON DELETE CASCADE,
            is_active_for_agent INTEGER NOT NULL \(boolean("agent_toolbelt_items", "is_active_for_agent")),
            \(time("agent_toolbelt_items", "created_at")),
            \(time("agent_toolbelt_items", "updated_at")),
            UNIQUE (agent_id, account_tool_instance_id)
        ) STRICT
        """,

        """
        CREATE TABLE agent_tool_credentials (
            \(uuidKey("agent_tool_credentials")),
            agent_toolbelt_item_id TEXT NOT NULL REFERENCES agent_toolbelt_items(id) ON DELETE CASCADE,
            credential_type TEXT NOT NULL \(nonEmpty("agent_tool_credentials", "credential_type")),
            encrypted_credentials BLOB NOT NULL,
            account_identifier TEXT,
            \(time("agent_tool_credentials", "last_validated_at", nullable: true)),
            status TEXT NOT NULL \(oneOf("agent_tool_credentials", "status", ["active", "revoked", "requires_reauth", "error"])),
            \(time("agent_tool_credentials", "created_at")),
            \(time("agent_tool_credentials", "updated_at"))
        ) STRICT
        """,

        """
        CREATE TABLE agent_tool_capability_permissions (
            \(uuidKey("agent_tool_capability_permissions")),
            agent_toolbelt_item_id TEXT NOT NULL REFERENCES agent_toolbelt_items(id) ON DELETE CASCADE,
            capability_name TEXT NOT NULL \(nonEmpty("agent_tool_capability_permissions", "capability_name")),
            is_allowed INTEGER NOT NULL \(boolean("agent_tool_capability_permissions", "is_allowed")),
            \(time("agent_tool_capability_permissions", "created_at")),
            \(time("agent_tool_capability_permissions", "updated_at")),
            UNIQUE (agent_toolbelt_item_id, capability_name)
        ) STRICT
        """,

        // Created after account_tool_environments, which refers to it by name (dtma_bearer_token):
        // SQLite resolves foreign keys when rows change, so the circular reference is fine.
        """
        CREATE TABLE api_tokens (
            \(uuidKey("api_tokens")),
            kind TEXT NOT NULL \(oneOf("api_tokens", "kind", ["user", "agent", "toolbox", "enrollment"])),
            user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
            agent_id TEXT REFERENCES agents(id) ON DELETE CASCADE,
            account_tool_environment_id TEXT REFERENCES account_tool_environments(id) ON DELETE CASCADE,
            name TEXT,
            prefix TEXT NOT NULL \(nonEmpty("api_tokens", "prefix")),
            token_hash BLOB NOT NULL UNIQUE \(check("api_tokens", "token_hash", "length(token_hash) > 0")),
            \(time("api_tokens", "created_at")),
            \(time("api_tokens", "last_used_at", nullable: true)),
            \(time("api_tokens", "expires_at", nullable: true)),
            \(time("api_tokens", "revoked_at", nullable: true)),
            CONSTRAINT "api_tokens.owner_matches_kind" CHECK (
                CASE kind
                    WHEN 'user' THEN user_id IS NOT NULL AND agent_id IS NULL AND account_tool_environment_id IS NULL
                    WHEN 'agent' THEN agent_id IS NOT NULL AND user_id IS NULL AND account_tool_environment_id IS NULL
                    WHEN 'toolbox' THEN account_tool_environment_id IS NOT NULL AND user_id IS NULL AND agent_id IS NULL
                    WHEN 'enrollment' THEN account_tool_environment_id IS NOT NULL AND user_id IS NULL AND agent_id IS NULL
                    ELSE 1 -- an unknown kind is refused by "api_tokens.kind"
                END
            )
        ) STRICT
        """,

        """
        CREATE TABLE vault_meta (
            id INTEGER PRIMARY KEY \(check("vault_meta", "id", "id = 1")),
            format_version INTEGER NOT NULL \(check("vault_meta", "format_version", "format_version >= 1")),
            master_key_kind TEXT NOT NULL \(oneOf("vault_meta", "master_key_kind", ["key", "passphrase"])),
            key_check_value BLOB NOT NULL,
            server_key_wrapped BLOB NOT NULL,
            kdf_algorithm TEXT,
            kdf_salt BLOB,
            kdf_opslimit INTEGER,
            kdf_memlimit INTEGER,
            \(time("vault_meta", "created_at")),
            \(time("vault_meta", "updated_at"))
        ) STRICT
        """,

        """
        CREATE TABLE vault_keys (
            version INTEGER PRIMARY KEY \(check("vault_keys", "version", "version >= 1")),
            wrapped_key BLOB,
            state TEXT NOT NULL \(oneOf("vault_keys", "state", ["active", "retiring", "retired"])),
            \(time("vault_keys", "created_at")),
            \(time("vault_keys", "retired_at", nullable: true))
        ) STRICT
        """,

        """
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE \(check("audit_log", "id", uuidCondition("id"))),
            \(time("audit_log", "at")),
            actor_kind TEXT NOT NULL \(oneOf("audit_log", "actor_kind", ["system", "user", "agent", "toolbox"])),
            actor_id TEXT,
            action TEXT NOT NULL \(nonEmpty("audit_log", "action")),
            target_type TEXT,
            target_id TEXT,
            outcome TEXT NOT NULL \(oneOf("audit_log", "outcome", ["ok", "denied", "error"])),
            detail_json TEXT NOT NULL \(json("audit_log", "detail_json")),
            -- UNIQUE: each record has one successor, so two writers racing on the same tail cannot fork the chain.
            prev_hash BLOB NOT NULL UNIQUE,
            hash BLOB NOT NULL UNIQUE
        ) STRICT
        """,

        // MARK: Append-only audit log

        """
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN
            SELECT RAISE(ABORT, 'audit_log is append-only');
        END
        """,
        """
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN
            SELECT RAISE(ABORT, 'audit_log is append-only');
        END
        """,

        // MARK: Indexes
        // Those SCHEMA.md names, and one for every foreign key column that no UNIQUE constraint already leads with
        // (agents.user_id, agent_toolbox_access.agent_id, agent_toolbelt_items.agent_id and
        // agent_tool_capability_permissions.agent_toolbelt_item_id are).

        "CREATE INDEX account_tool_environments_user_id ON account_tool_environments(user_id)",
        "CREATE INDEX account_tool_environments_status ON account_tool_environments(status)",
        "CREATE INDEX account_tool_environments_dtma_bearer_token ON account_tool_environments(dtma_bearer_token)",
        "CREATE INDEX account_tool_instances_account_tool_environment_id ON account_tool_instances(account_tool_environment_id)",
        "CREATE INDEX account_tool_instances_tool_catalog_id ON account_tool_instances(tool_catalog_id)",
        "CREATE INDEX agent_toolbox_access_account_tool_environment_id ON agent_toolbox_access(account_tool_environment_id)",
        "CREATE INDEX agent_toolbelt_items_account_tool_instance_id ON agent_toolbelt_items(account_tool_instance_id)",
        "CREATE INDEX agent_tool_credentials_agent_toolbelt_item_id ON agent_tool_credentials(agent_toolbelt_item_id)",
        "CREATE INDEX api_tokens_user_id ON api_tokens(user_id)",
        "CREATE INDEX api_tokens_agent_id ON api_tokens(agent_id)",
        "CREATE INDEX api_tokens_account_tool_environment_id ON api_tokens(account_tool_environment_id)",
        // At most one data key seals new secrets.
        "CREATE UNIQUE INDEX vault_keys_single_active ON vault_keys(state) WHERE state = 'active'",
    ]

    // MARK: - Column snippets
    // Frozen with this migration: a later change to these helpers must not change what this migration creates.

    private static let hex = "[0-9a-f]"

    private static func uuidCondition(_ column: String) -> String {
        let glob = [8, 4, 4, 4, 12].map { String(repeating: hex, count: $0) }.joined(separator: "-")
        return "\(column) GLOB '\(glob)'"
    }

    /// `id TEXT` primary key holding a lowercase UUID.
    private static func uuidKey(_ table: String) -> String {
        "id TEXT NOT NULL PRIMARY KEY \(check(table, "id", uuidCondition("id")))"
    }

    /// A time column in the `Timestamp` form, e.g. `2026-11-25T08:46:51.123Z`.
    private static func time(_ table: String, _ column: String, nullable: Bool = false) -> String {
        let d = "[0-9]"
        let glob = "\(d)\(d)\(d)\(d)-\(d)\(d)-\(d)\(d)T\(d)\(d):\(d)\(d):\(d)\(d).\(d)\(d)\(d)Z"
        return "\(column) TEXT\(nullable ? "" : " NOT NULL") \(check(table, column, "\(column) GLOB '\(glob)'"))"
    }

    private static func oneOf(_ table: String, _ column: String, _ values: [String]) -> String {
        let list = values.map { "'\($0)'" }.joined(separator: ", ")
        return check(table, column, "\(column) IN (\(list))")
    }

    /// Valid JSON text; NULL passes (SQLite 3.40's `json_valid(NULL)` is 0, not NULL), NOT NULL is said separately.
    private static func json(_ table: String, _ column: String) -> String {
        check(table, column, "\(column) IS NULL OR json_valid(\(column))")
    }

    private static func boolean(_ table: String, _ column: String) -> String {
        check(table, column, "\(column) IN (0, 1)")
    }

    private static func nonEmpty(_ table: String, _ column: String) -> String {
        check(table, column, "\(column) <> ''")
    }

    /// A CHECK named `"table.column"`, the name SQLite reports when it fails.
    private static func check(_ table: String, _ column: String, _ condition: String) -> String {
        "CONSTRAINT \"\(table).\(column)\" CHECK (\(condition))"
    }
}

import Foundation
import GRDB
import Testing

@testable import Storage

/// Every table and column of SCHEMA.md, and the appliance's own, by their exact names.
let expectedColumns: [String: Set<String>] = [
    "account_tool_environments": [
        "id", "user_id", "droplet_id", "name", "region", "size_slug", "status", "dtma_bearer_token",
        "public_ip_address", "created_at", "updated_at",
        "provider", "status_detail", "current_operation", "reachability", "agent_version", "last_heartbeat_at",
    ],
    "tool_catalog": [
        "id", "name", "description", "docker_image_url", "default_config_json_schema", "required_capabilities_schema",
        "required_secrets_schema", "version", "is_enabled", "created_at", "updated_at",
        "container_port", "protocol", "memory_limit_mb", "cpu_limit", "execute_timeout_ms",
    ],
    "account_tool_instances": [
        "id", "account_tool_environment_id", "tool_catalog_id", "instance_name_on_toolbox", "status_on_toolbox",
        "port_mapping_json", "last_heartbeat_from_dtma", "version", "base_config_override_json", "created_at", "updated_at",
        "status_detail", "image_ref", "restart_requested_at", "previous_version", "previous_image_ref",
    ],
    "agent_toolbox_access": ["id", "agent_id", "account_tool_environment_id", "granted_at"],
    "agent_toolbelt_items": ["id", "agent_id", "account_tool_instance_id", "is_active_for_agent", "created_at", "updated_at"],
    "agent_tool_credentials": [
        "id", "agent_toolbelt_item_id", "credential_type", "encrypted_credentials", "account_identifier",
        "last_validated_at", "status", "created_at", "updated_at",
    ],
    "agent_tool_capability_permissions": [
        "id", "agent_toolbelt_item_id", "capability_name", "is_allowed", "created_at", "updated_at",
    ],
    "users": ["id", "name", "role", "created_at", "updated_at"],
    "agents": ["id", "user_id", "name", "description", "created_at", "updated_at"],
    "api_tokens": [
        "id", "kind", "user_id", "agent_id", "account_tool_environment_id", "name", "prefix", "token_hash",
        "created_at", "last_used_at", "expires_at", "revoked_at",
    ],
    "vault_meta": [
        "id", "format_version", "master_key_kind", "key_check_value", "server_key_wrapped", "kdf_algorithm", "kdf_salt", "kdf_opslimit",
        "kdf_memlimit", "created_at", "updated_at",
    ],
    "vault_keys": ["version", "wrapped_key", "state", "created_at", "retired_at"],
    "audit_log": [
        "seq", "id", "at", "actor_kind", "actor_id", "action", "target_type", "target_id", "outcome", "detail_json",
        "prev_hash", "hash",
    ],
    "port_leases": ["engine", "port", "account_tool_instance_id", "leased_at"],
    "registry_credentials": ["id", "registry", "username", "encrypted_password", "created_at", "updated_at"],
    "instance_events": ["id", "account_tool_instance_id", "at", "kind", "message"],
    "cloud_credentials": ["id", "provider", "encrypted_token", "account_email", "account_uuid", "validated_at", "created_at", "updated_at"],
]

struct MigrationTests {
    @Test func migrateCreatesEveryTableWithEveryColumn() async throws {
        let test = try TestDatabase()
        let (tables, columns) = try await test.database.read { db in
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'")
            var columns: [String: Set<String>] = [:]
            for table in tables {
                columns[table] = try Set(String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?)", arguments: [table]))
            }
            return (Set(tables), columns)
        }
        #expect(tables == Set(expectedColumns.keys))
        for (table, expected) in expectedColumns {
            #expect(columns[table] == expected, "columns of \(table)")
        }
        try test.expectNoDanglingRows()
    }

    @Test func migrateTwiceIsANoOp() async throws {
        let test = try TestDatabase()
        let schema = { @Sendable (db: Database) in
            try String.fetchAll(db, sql: "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name")
        }
        let before = try await test.database.read(schema)
        let versionBefore = try test.database.schemaVersion()

        try test.database.migrate()
        // A second process start: a new pool on the same file.
        let reopened = try AppDatabase.openExisting(path: test.path)
        try reopened.migrate()

        #expect(try await test.database.read(schema) == before)
        #expect(try test.database.schemaVersion() == versionBefore)
        #expect(try reopened.schemaVersion() == ["001_initial_schema", "002_port_leases", "003_instance_runtime", "004_cloud_credentials", "005_toolbox_agents", "006_full_id_checks"])
        try test.expectNoDanglingRows()
    }

    @Test func migration003GivesInstancesOfAnOlderDatabaseTheirCatalogImage() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agentbox-m003-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try AppDatabase.open(path: folder.appendingPathComponent("agentbox.sqlite").path)
        try Migrator.databaseMigrator.migrate(database.writer, upTo: Migration002PortLeases.identifier)
        #expect(try database.schemaVersion() == ["001_initial_schema", "002_port_leases"])
        let user = try await database.insert(User(name: "ada"))
        // Rows as agentbox wrote them before migration 003 (no image_ref column yet; no later toolbox columns either).
        let toolbox = AccountToolEnvironment(userID: user.id, name: "home", status: .active, provider: .local)
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO account_tool_environments (id, user_id, name, status, provider, reachability, created_at, updated_at)
                        VALUES (?, ?, 'home', 'active', 'local', 'unknown', ?, ?)
                    """,
                arguments: [toolbox.id.uuidString.lowercased(), user.id.uuidString.lowercased(), Timestamp.string(from: Date()), Timestamp.string(from: Date())])
        }
        let tool = try await database.insert(
            ToolCatalogEntry(
                name: "mail", dockerImageURL: "ghcr.io/acme/mail:1", requiredCapabilitiesSchema: "{}", version: "1", containerPort: 8080))
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO account_tool_instances (id, account_tool_environment_id, tool_catalog_id, instance_name_on_toolbox,
                        status_on_toolbox, version, created_at, updated_at) VALUES (?, ?, ?, 'web', 'running', '1', ?, ?)
                    """,
                arguments: [UUID().uuidString.lowercased(), toolbox.id.uuidString.lowercased(), tool.id.uuidString.lowercased(),
                    Timestamp.string(from: Date()), Timestamp.string(from: Date())])
        }
        try database.migrate()
        let instances = try await database.fetchAccountToolInstances(accountToolEnvironmentID: toolbox.id)
        #expect(instances.map(\.imageRef) == ["ghcr.io/acme/mail:1"])
        #expect(instances.first?.previousVersion == nil && instances.first?.restartRequestedAt == nil)
    }

    @Test func migration006KeepsCredentialRowsAndChecksWholeIds() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agentbox-m006-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try AppDatabase.open(path: folder.appendingPathComponent("agentbox.sqlite").path)
        try Migrator.databaseMigrator.migrate(database.writer, upTo: Migration005ToolboxAgents.identifier)
        let now = Timestamp.string(from: Date())
        let registryID = UUID().uuidString.lowercased()
        let cloudID = UUID().uuidString.lowercased()
        try await database.write { db in
            try db.execute(
                sql: "INSERT INTO registry_credentials VALUES (?, 'ghcr.io', 'ada', X'01', ?, ?)", arguments: [registryID, now, now])
            try db.execute(
                sql: "INSERT INTO cloud_credentials VALUES (?, 'digitalocean', X'02', 'ada@example.com', NULL, ?, ?, ?)",
                arguments: [cloudID, now, now, now])
        }
        try database.migrate()
        let kept = try await database.read { db in
            (try String.fetchAll(db, sql: "SELECT id FROM registry_credentials"), try String.fetchAll(db, sql: "SELECT id FROM cloud_credentials"))
        }
        #expect(kept.0 == [registryID] && kept.1 == [cloudID])
        await #expect(throws: (any Error).self) {
            try await database.write { db in
                try db.execute(
                    sql: "INSERT INTO registry_credentials VALUES ('12345678-ABCD-4ABC-8ABC-ABCDEFABCDEF', 'quay.io', 'ada', X'01', ?, ?)",
                    arguments: [now, now])
            }
        }
    }

    @Test func databaseOfANewerAgentboxIsRefused() async throws {
        let test = try TestDatabase()
        try await test.execute("INSERT INTO grdb_migrations (identifier) VALUES ('999_future_feature')")
        let schemaBefore = try await test.database.read { db in
            try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        }

        let reopened = try AppDatabase.openExisting(path: test.path)
        let error = #expect(throws: StorageError.self) { try reopened.migrate() }
        #expect(error?.code == .newerSchema)
        #expect(error?.message.contains("999_future_feature") == true)
        #expect(error?.message.contains("newer agentbox") == true)
        #expect(try reopened.schemaVersion() == ["001_initial_schema", "002_port_leases", "003_instance_runtime", "004_cloud_credentials", "005_toolbox_agents", "006_full_id_checks", "999_future_feature"])
        let schemaAfter = try await reopened.read { db in
            try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        }
        #expect(schemaAfter == schemaBefore)
        try test.expectNoDanglingRows()
    }

    @Test func connectionsUseWALForeignKeysFullSyncAndBusyTimeout() async throws {
        let test = try TestDatabase()
        let pragmas = { @Sendable (db: Database) in
            [
                try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                try String.fetchOne(db, sql: "PRAGMA foreign_keys"),
                try String.fetchOne(db, sql: "PRAGMA synchronous"),
                try String.fetchOne(db, sql: "PRAGMA busy_timeout"),
            ]
        }
        // 2 is FULL.
        #expect(try await test.database.write(pragmas) == ["wal", "1", "2", "5000"])
        #expect(try await test.database.read(pragmas) == ["wal", "1", "2", "5000"])
        try test.expectNoDanglingRows()
    }

    @Test func openCreatesAMissingFileButOpenExistingRefusesIt() throws {
        let test = try TestDatabase()
        let missing = test.directory.appendingPathComponent("nothing-here.sqlite").path

        let error = #expect(throws: StorageError.self) { try AppDatabase.openExisting(path: missing) }
        #expect(error?.code == .cannotOpen)
        #expect(error?.message.contains(missing) == true)
        #expect(!FileManager.default.fileExists(atPath: missing))

        let created = try AppDatabase.open(path: missing)
        try created.migrate()
        #expect(FileManager.default.fileExists(atPath: missing))
        #expect(try created.schemaVersion() == ["001_initial_schema", "002_port_leases", "003_instance_runtime", "004_cloud_credentials", "005_toolbox_agents", "006_full_id_checks"])
        try test.expectNoDanglingRows()
    }

    @Test func openInAMissingFolderFailsWithCannotOpen() throws {
        let test = try TestDatabase()
        let path = test.directory.appendingPathComponent("no-such-folder/agentbox.sqlite").path
        let error = #expect(throws: StorageError.self) { try AppDatabase.open(path: path) }
        #expect(error?.code == .cannotOpen)
        #expect(error?.message.contains(path) == true)
        try test.expectNoDanglingRows()
    }

    @Test func aFileThatIsNotADatabaseIsReportedCorrupt() throws {
        let test = try TestDatabase()
        let path = test.directory.appendingPathComponent("garbage.sqlite").path
        try Data(repeating: 0x41, count: 8_192).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: StorageError.self) {
            let database = try AppDatabase.openExisting(path: path)
            try database.migrate()
        }
        #expect(error?.code == .corrupt)
        try test.expectNoDanglingRows()
    }

    @Test func integrityChecksPassOnAFreshDatabase() async throws {
        let test = try TestDatabase()
        try await test.seedChain()
        #expect(try test.database.quickCheck() == ["ok"])
        #expect(try test.database.integrityCheck() == ["ok"])
        try test.expectNoDanglingRows()
    }

    @Test func foreignKeyViolationsReportsDanglingRows() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        // Only a connection with foreign keys off can leave a dangling row; prove the check sees it.
        try await test.database.pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            try db.execute(sql: "DELETE FROM agents WHERE id = ?", arguments: [chain.agentID.uuidString.lowercased()])
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        let violations = try test.database.foreignKeyViolations()
        #expect(Set(violations.map(\.table)) == ["agent_toolbox_access", "agent_toolbelt_items", "api_tokens"])
        #expect(violations.allSatisfy { $0.parent == "agents" && $0.rowid != nil })
    }

    @Test func everyForeignKeyColumnIsIndexed() async throws {
        let test = try TestDatabase()
        let unindexed = try await test.database.read { db in
            var unindexed: [String] = []
            for table in expectedColumns.keys.sorted() {
                let foreignKeyColumns = try String.fetchAll(db, sql: "SELECT \"from\" FROM pragma_foreign_key_list(?)", arguments: [table])
                let leadingColumns = try Set(
                    String.fetchAll(
                        db,
                        sql: """
                            SELECT ii.name FROM pragma_index_list(?) AS il, pragma_index_info(il.name) AS ii
                            WHERE ii.seqno = 0 AND il.partial = 0
                            """,
                        arguments: [table]))
                unindexed += foreignKeyColumns.filter { !leadingColumns.contains($0) }.map { "\(table).\($0)" }
            }
            return unindexed
        }
        #expect(unindexed == [])
        try test.expectNoDanglingRows()
    }

    @Test func schemaNamesTheIndexesOfSchemaMD() async throws {
        let test = try TestDatabase()
        let indexed = try await test.database.read { db in
            try Set(
                Row.fetchAll(
                    db,
                    sql: """
                        SELECT m.tbl_name AS t, ii.name AS c FROM sqlite_master AS m, pragma_index_info(m.name) AS ii
                        WHERE m.type = 'index' AND ii.seqno = 0
                        """
                ).map { "\($0["t"] as String).\($0["c"] as String)" })
        }
        for column in [
            "account_tool_environments.user_id", "account_tool_environments.status",
            "account_tool_instances.account_tool_environment_id", "account_tool_instances.tool_catalog_id",
        ] {
            #expect(indexed.contains(column), "\(column) is indexed")
        }
        try test.expectNoDanglingRows()
    }

    @Test func allTablesAreStrict() async throws {
        let test = try TestDatabase()
        let nonStrict = try await test.database.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM pragma_table_list
                    WHERE schema = 'main' AND strict = 0 AND type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'
                    """)
        }
        #expect(nonStrict == [])
        try test.expectNoDanglingRows()
    }
}

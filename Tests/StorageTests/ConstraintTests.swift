import Foundation
import GRDB
import Testing

@testable import Storage

/// Makes a valid row of a table (as column → value), inserting whatever fresh parents it needs.
typealias RowFactory = @Sendable (TestDatabase, StorageChain) async throws -> [String: DatabaseValue]

private func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.lowercased())" }

/// A valid row for every table, so that one column at a time can be made invalid.
let validRow: [String: RowFactory] = [
    "users": { _, _ in try User(name: unique("user")).databaseDictionary },
    "agents": { _, chain in try Agent(userID: chain.userID, name: unique("agent")).databaseDictionary },
    "account_tool_environments": { _, chain in
        try AccountToolEnvironment(userID: chain.userID, name: unique("toolbox"), provider: .digitalocean).databaseDictionary
    },
    "tool_catalog": { _, _ in
        try ToolCatalogEntry(name: unique("tool"), dockerImageURL: "tools/echo:1", version: "1", containerPort: 8080).databaseDictionary
    },
    "account_tool_instances": { _, chain in
        try AccountToolInstance(
            accountToolEnvironmentID: chain.toolboxID, toolCatalogID: chain.toolID, instanceNameOnToolbox: unique("instance"),
            version: "1"
        ).databaseDictionary
    },
    "agent_toolbox_access": { test, chain in
        let agent = try await test.database.insert(Agent(userID: chain.userID, name: unique("agent")))
        return try AgentToolboxAccess(agentID: agent.id, accountToolEnvironmentID: chain.toolboxID).databaseDictionary
    },
    "agent_toolbelt_items": { test, chain in
        let agent = try await test.database.insert(Agent(userID: chain.userID, name: unique("agent")))
        return try AgentToolbeltItem(agentID: agent.id, accountToolInstanceID: chain.instanceID).databaseDictionary
    },
    "agent_tool_credentials": { _, chain in
        try AgentToolCredential(agentToolbeltItemID: chain.toolbeltItemID, credentialType: "api_key", encryptedCredentials: randomData())
            .databaseDictionary
    },
    "agent_tool_capability_permissions": { _, chain in
        try AgentToolCapabilityPermission(agentToolbeltItemID: chain.toolbeltItemID, capabilityName: unique("cap"), isAllowed: false)
            .databaseDictionary
    },
    "api_tokens": { _, chain in
        try APIToken(kind: .user, userID: chain.userID, prefix: "abx_us_", tokenHash: randomData()).databaseDictionary
    },
    "vault_meta": { _, _ in
        try VaultMeta(formatVersion: 1, masterKeyKind: .key, keyCheckValue: randomData(), serverKeyWrapped: randomData()).databaseDictionary
    },
    "vault_keys": { _, _ in
        try VaultKey(version: Int.random(in: 1...1_000_000), wrappedKey: randomData(), state: .retiring).databaseDictionary
    },
    "audit_log": { _, _ in
        try AuditLogEntry(actorKind: .system, action: "test.row", outcome: .ok, prevHash: randomData(), hash: randomData())
            .databaseDictionary
    },
    "port_leases": { test, chain in
        let instance = try await test.database.insert(
            AccountToolInstance(
                accountToolEnvironmentID: chain.toolboxID, toolCatalogID: chain.toolID, instanceNameOnToolbox: unique("instance"),
                version: "1"))
        return try PortLease(engine: "local", port: Int.random(in: 1024...65535), accountToolInstanceID: instance.id).databaseDictionary
    },
    "registry_credentials": { _, _ in
        try RegistryCredential(registry: unique("registry") + ".example.com", username: "ci", encryptedPassword: Data([1, 2, 3])).databaseDictionary
    },
    "cloud_credentials": { _, _ in
        try CloudCredential(provider: "digitalocean", encryptedToken: Data([1, 2, 3])).databaseDictionary
    },
    "instance_events": { test, chain in
        let instance = try await test.database.insert(
            AccountToolInstance(
                accountToolEnvironmentID: chain.toolboxID, toolCatalogID: chain.toolID, instanceNameOnToolbox: unique("instance"),
                version: "1"))
        return try InstanceEvent(accountToolInstanceID: instance.id, kind: "pull", message: "pulling").databaseDictionary
    },
]

/// A row of `table` with `column` set to `value`; the token factory picks the owner column that `kind` needs.
func row(_ table: String, _ column: String, _ value: DatabaseValue, _ test: TestDatabase, _ chain: StorageChain) async throws
    -> [String: DatabaseValue]
{
    var row = try await validRow[table]!(test, chain)
    if table == "api_tokens", column == "kind", let kind = String.fromDatabaseValue(value) {
        row["user_id"] = .null
        switch kind {
        case "user": row["user_id"] = chain.userID.uuidString.lowercased().databaseValue
        case "agent": row["agent_id"] = chain.agentID.uuidString.lowercased().databaseValue
        default: row["account_tool_environment_id"] = chain.toolboxID.uuidString.lowercased().databaseValue
        }
    }
    row[column] = value
    return row
}

/// A column with a fixed set of allowed values, and the Swift enum that mirrors it.
struct EnumColumn: Sendable, CustomTestStringConvertible {
    var table: String
    var column: String
    var allowed: [String]
    var testDescription: String { "\(table).\(column)" }

    init<E: CaseIterable & RawRepresentable>(_ table: String, _ column: String, _ type: E.Type) where E.RawValue == String {
        self.table = table
        self.column = column
        self.allowed = E.allCases.map(\.rawValue)
    }
}

let enumColumns: [EnumColumn] = [
    EnumColumn("account_tool_environments", "status", ToolboxStatus.self),
    EnumColumn("account_tool_environments", "provider", ToolboxProvider.self),
    EnumColumn("account_tool_environments", "reachability", Reachability.self),
    EnumColumn("tool_catalog", "protocol", ToolProtocol.self),
    EnumColumn("account_tool_instances", "status_on_toolbox", InstanceStatus.self),
    EnumColumn("agent_tool_credentials", "status", CredentialStatus.self),
    EnumColumn("users", "role", UserRole.self),
    EnumColumn("api_tokens", "kind", TokenKind.self),
    EnumColumn("vault_meta", "master_key_kind", MasterKeyKind.self),
    EnumColumn("vault_keys", "state", VaultKeyState.self),
    EnumColumn("audit_log", "actor_kind", AuditActorKind.self),
    EnumColumn("audit_log", "outcome", AuditOutcome.self),
]

/// A `table.column` pair, for table-driven tests.
struct TableColumn: Sendable, CustomTestStringConvertible {
    var table: String
    var column: String
    var testDescription: String { "\(table).\(column)" }

    init(_ table: String, _ column: String) {
        self.table = table
        self.column = column
    }
}

let booleanColumns = [
    TableColumn("tool_catalog", "is_enabled"),
    TableColumn("agent_toolbelt_items", "is_active_for_agent"),
    TableColumn("agent_tool_capability_permissions", "is_allowed"),
]

let jsonColumns = [
    TableColumn("tool_catalog", "default_config_json_schema"),
    TableColumn("tool_catalog", "required_capabilities_schema"),
    TableColumn("tool_catalog", "required_secrets_schema"),
    TableColumn("account_tool_instances", "port_mapping_json"),
    TableColumn("account_tool_instances", "base_config_override_json"),
    TableColumn("audit_log", "detail_json"),
]

let foreignKeyColumns = [
    TableColumn("port_leases", "account_tool_instance_id"),
    TableColumn("instance_events", "account_tool_instance_id"),
    TableColumn("agents", "user_id"),
    TableColumn("account_tool_environments", "user_id"),
    TableColumn("account_tool_environments", "dtma_bearer_token"),
    TableColumn("account_tool_instances", "account_tool_environment_id"),
    TableColumn("account_tool_instances", "tool_catalog_id"),
    TableColumn("agent_toolbox_access", "agent_id"),
    TableColumn("agent_toolbox_access", "account_tool_environment_id"),
    TableColumn("agent_toolbelt_items", "agent_id"),
    TableColumn("agent_toolbelt_items", "account_tool_instance_id"),
    TableColumn("agent_tool_credentials", "agent_toolbelt_item_id"),
    TableColumn("agent_tool_capability_permissions", "agent_toolbelt_item_id"),
    TableColumn("api_tokens", "user_id"),
    TableColumn("api_tokens", "agent_id"),
    TableColumn("api_tokens", "account_tool_environment_id"),
]

/// Every time column: all hold `Timestamp` text.
let timeColumns: [TableColumn] = expectedColumns.keys.sorted().flatMap { table in
    expectedColumns[table]!.sorted()
        .filter { $0.hasSuffix("_at") || $0 == "at" || $0 == "last_heartbeat_from_dtma" }
        .map { TableColumn(table, $0) }
}

/// Every table keyed by a UUID `id`.
let uuidKeyedTables = expectedColumns.keys.sorted().filter { !["vault_meta", "vault_keys", "port_leases", "instance_events"].contains($0) }

struct ConstraintTests {
    // MARK: - Allowed values

    @Test(arguments: enumColumns)
    func enumColumnAcceptsItsValuesAndRejectsOthers(_ enumColumn: EnumColumn) async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        let (table, column) = (enumColumn.table, enumColumn.column)

        for value in enumColumn.allowed {
            try await test.insertRow(table, row(table, column, value.databaseValue, test, chain), keep: false)
        }
        let error = await #expect(throws: StorageError.self) {
            try await test.insertRow(table, row(table, column, "bogus".databaseValue, test, chain))
        }
        #expect(error?.code == .checkViolation)
        #expect(error?.constraint == "\(table).\(column)")
        #expect(error?.table == table)
        try test.expectNoDanglingRows()
    }

    @Test(arguments: booleanColumns)
    func booleanColumnHoldsOnlyZeroOrOne(_ target: TableColumn) async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        for value in [0, 1] {
            try await test.insertRow(target.table, row(target.table, target.column, value.databaseValue, test, chain), keep: false)
        }
        let error = await #expect(throws: StorageError.self) {
            try await test.insertRow(target.table, row(target.table, target.column, 2.databaseValue, test, chain))
        }
        #expect(error?.code == .checkViolation)
        #expect(error?.constraint == "\(target.table).\(target.column)")
        try test.expectNoDanglingRows()
    }

    @Test(arguments: jsonColumns)
    func jsonColumnRejectsInvalidJSON(_ target: TableColumn) async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        try await test.insertRow(target.table, row(target.table, target.column, #"{"ok": [1, 2]}"#.databaseValue, test, chain), keep: false)
        let error = await #expect(throws: StorageError.self) {
            try await test.insertRow(target.table, row(target.table, target.column, #"{"unterminated": "#.databaseValue, test, chain))
        }
        #expect(error?.code == .checkViolation)
        #expect(error?.constraint == "\(target.table).\(target.column)")
        try test.expectNoDanglingRows()
    }

    @Test(arguments: timeColumns)
    func timeColumnHoldsOnlyISO8601UTCWithMilliseconds(_ target: TableColumn) async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        try await test.insertRow(target.table, row(target.table, target.column, "2026-11-25T08:46:51.123Z".databaseValue, test, chain), keep: false)
        for bad in ["2026-11-25 08:46:51.123", "2026-11-25T08:46:51Z", "2026-11-25T08:46:51.123+01:00"] {
            let error = await #expect(throws: StorageError.self, "\(bad)") {
                try await test.insertRow(target.table, row(target.table, target.column, bad.databaseValue, test, chain))
            }
            #expect(error?.code == .checkViolation)
            #expect(error?.constraint == "\(target.table).\(target.column)")
        }
        try test.expectNoDanglingRows()
    }

    @Test(arguments: uuidKeyedTables)
    func idsAreLowercaseUUIDText(_ table: String) async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        // The fixed one starts with 8 digits: a check of only the first characters let it through (migration 006).
        for bad in [UUID().uuidString.uppercased(), "12345678-ABCD-4ABC-8ABC-ABCDEFABCDEF", "not-a-uuid"] {
            let error = await #expect(throws: StorageError.self, "\(bad)") {
                try await test.insertRow(table, row(table, "id", bad.databaseValue, test, chain))
            }
            #expect(error?.code == .checkViolation)
            #expect(error?.constraint == "\(table).id")
        }
        try test.expectNoDanglingRows()
    }

    @Test func tokenOwnerMustMatchItsKind() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        let user = chain.userID.uuidString.lowercased().databaseValue
        let agent = chain.agentID.uuidString.lowercased().databaseValue
        let toolbox = chain.toolboxID.uuidString.lowercased().databaseValue
        let wrongOwners: [(String, [String: DatabaseValue])] = [
            ("user", ["agent_id": agent]),
            ("user", ["user_id": user, "agent_id": agent]),
            ("agent", ["user_id": user]),
            ("agent", [:]),
            ("toolbox", ["user_id": user]),
            ("enrollment", ["agent_id": agent]),
            ("enrollment", ["account_tool_environment_id": toolbox, "user_id": user]),
        ]
        for (kind, owners) in wrongOwners {
            var values = try await validRow["api_tokens"]!(test, chain)
            values["user_id"] = .null
            values["kind"] = kind.databaseValue
            values.merge(owners) { $1 }
            let error = await #expect(throws: StorageError.self, "\(kind) owned by \(owners.keys.sorted())") {
                try await test.insertRow("api_tokens", values)
            }
            #expect(error?.code == .checkViolation)
            #expect(error?.constraint == "api_tokens.owner_matches_kind")
        }
        try await test.database.insert(
            APIToken(kind: .enrollment, accountToolEnvironmentID: chain.toolboxID, prefix: "abx_en_", tokenHash: randomData()))
        try test.expectNoDanglingRows()
    }

    @Test func vaultMetaHoldsASingleRow() async throws {
        let test = try TestDatabase()
        let meta = VaultMeta(formatVersion: 1, masterKeyKind: .passphrase, keyCheckValue: randomData(), serverKeyWrapped: randomData(), kdfAlgorithm: "argon2id13")
        try await test.insertRow("vault_meta", try meta.databaseDictionary)

        let second = await #expect(throws: StorageError.self) {
            try await test.insertRow("vault_meta", try meta.databaseDictionary)
        }
        #expect(second?.code == .uniqueViolation)

        var other = try meta.databaseDictionary
        other["id"] = 2.databaseValue
        let notOne = await #expect(throws: StorageError.self) { try await test.insertRow("vault_meta", other) }
        #expect(notOne?.code == .checkViolation)
        #expect(notOne?.constraint == "vault_meta.id")
        try test.expectNoDanglingRows()
    }

    @Test func vaultKeyVersionsStartAtOne() async throws {
        let test = try TestDatabase()
        let error = await #expect(throws: StorageError.self) {
            try await test.insertRow("vault_keys", try VaultKey(version: 0, wrappedKey: randomData(), state: .active).databaseDictionary)
        }
        #expect(error?.code == .checkViolation)
        #expect(error?.constraint == "vault_keys.version")
        try test.expectNoDanglingRows()
    }

    @Test func requiredColumnRejectsNullAndNamesIt() async throws {
        let test = try TestDatabase()
        var values = try User(name: "nobody").databaseDictionary
        values["name"] = .null
        let error = await #expect(throws: StorageError.self) { try await test.insertRow("users", values) }
        #expect(error?.code == .notNullViolation)
        #expect(error?.table == "users")
        #expect(error?.columns == ["name"])
        try test.expectNoDanglingRows()
    }

    @Test func emptyNamesAreRejected() async throws {
        let test = try TestDatabase()
        let error = await #expect(throws: StorageError.self) { try await test.database.insert(User(name: "")) }
        #expect(error?.code == .checkViolation)
        #expect(error?.constraint == "users.name")
        try test.expectNoDanglingRows()
    }

    // MARK: - Unique constraints

    @Test func userNamesAreUnique() async throws {
        let test = try TestDatabase()
        try await test.database.insert(User(name: "grace"))
        let error = await #expect(throws: StorageError.self) { try await test.database.insert(User(name: "grace")) }
        #expect(error?.code == .uniqueViolation)
        #expect(error?.table == "users")
        #expect(error?.columns == ["name"])
        try test.expectNoDanglingRows()
    }

    @Test func agentNamesAreUniquePerUser() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain(name: "ada")
        let other = try await test.seedChain(name: "grace")
        // The same name under another user is fine.
        try await test.database.insert(Agent(userID: other.userID, name: "helper"))
        try await test.database.insert(Agent(userID: chain.userID, name: "helper"))
        let error = await #expect(throws: StorageError.self) {
            try await test.database.insert(Agent(userID: chain.userID, name: "helper"))
        }
        #expect(error?.code == .uniqueViolation)
        #expect(error?.table == "agents")
        #expect(error?.columns == ["user_id", "name"])
        try test.expectNoDanglingRows()
    }

    @Test func toolboxAccessIsUniquePerAgentAndToolbox() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        let error = await #expect(throws: StorageError.self) {
            try await test.database.insert(AgentToolboxAccess(agentID: chain.agentID, accountToolEnvironmentID: chain.toolboxID))
        }
        #expect(error?.code == .uniqueViolation)
        #expect(error?.table == "agent_toolbox_access")
        #expect(error?.columns == ["agent_id", "account_tool_environment_id"])
        try test.expectNoDanglingRows()
    }

    @Test func toolbeltItemsAreUniquePerAgentAndInstance() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        let error = await #expect(throws: StorageError.self) {
            try await test.database.insert(AgentToolbeltItem(agentID: chain.agentID, accountToolInstanceID: chain.instanceID))
        }
        #expect(error?.code == .uniqueViolation)
        #expect(error?.table == "agent_toolbelt_items")
        #expect(error?.columns == ["agent_id", "account_tool_instance_id"])
        try test.expectNoDanglingRows()
    }

    @Test func capabilityPermissionsAreUniquePerItemAndCapability() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        try await test.database.insert(
            AgentToolCapabilityPermission(agentToolbeltItemID: chain.toolbeltItemID, capabilityName: "gmail_read", isAllowed: false))
        let error = await #expect(throws: StorageError.self) {
            try await test.database.insert(
                AgentToolCapabilityPermission(agentToolbeltItemID: chain.toolbeltItemID, capabilityName: "gmail_send", isAllowed: false))
        }
        #expect(error?.code == .uniqueViolation)
        #expect(error?.table == "agent_tool_capability_permissions")
        #expect(error?.columns == ["agent_toolbelt_item_id", "capability_name"])
        try test.expectNoDanglingRows()
    }

    @Test func tokenHashesAreUnique() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        let hash = randomData()
        try await test.database.insert(APIToken(kind: .user, userID: chain.userID, prefix: "abx_us_", tokenHash: hash))
        let error = await #expect(throws: StorageError.self) {
            try await test.database.insert(APIToken(kind: .agent, agentID: chain.agentID, prefix: "abx_ag_", tokenHash: hash))
        }
        #expect(error?.code == .uniqueViolation)
        #expect(error?.table == "api_tokens")
        #expect(error?.columns == ["token_hash"])
        try test.expectNoDanglingRows()
    }

    @Test func atMostOneVaultKeyIsActive() async throws {
        let test = try TestDatabase()
        try await test.insertRow("vault_keys", try VaultKey(version: 1, wrappedKey: randomData(), state: .active).databaseDictionary)
        try await test.insertRow("vault_keys", try VaultKey(version: 2, wrappedKey: randomData(), state: .retiring).databaseDictionary)
        try await test.insertRow("vault_keys", try VaultKey(version: 3, wrappedKey: nil, state: .retired).databaseDictionary)
        try await test.insertRow("vault_keys", try VaultKey(version: 4, wrappedKey: nil, state: .retired).databaseDictionary)
        let error = await #expect(throws: StorageError.self) {
            try await test.insertRow("vault_keys", try VaultKey(version: 5, wrappedKey: randomData(), state: .active).databaseDictionary)
        }
        #expect(error?.code == .uniqueViolation)
        #expect(error?.table == "vault_keys")
        #expect(error?.columns == ["state"])
        try test.expectNoDanglingRows()
    }

    @Test func duplicateIdsAreRejected() async throws {
        let test = try TestDatabase()
        let user = try await test.database.insert(User(name: "first"))
        let error = await #expect(throws: StorageError.self) {
            try await test.database.insert(User(id: user.id, name: "second"))
        }
        #expect(error?.code == .uniqueViolation)
        #expect(error?.table == "users")
        #expect(error?.columns == ["id"])
        try test.expectNoDanglingRows()
    }

    @Test func auditChainCannotFork() async throws {
        let test = try TestDatabase()
        let tail = randomData()
        try await test.database.insert(AuditLogEntry(actorKind: .system, action: "a", outcome: .ok, prevHash: tail, hash: randomData()))
        let error = await #expect(throws: StorageError.self) {
            try await test.database.insert(AuditLogEntry(actorKind: .system, action: "b", outcome: .ok, prevHash: tail, hash: randomData()))
        }
        #expect(error?.code == .uniqueViolation)
        #expect(error?.columns == ["prev_hash"])
        try test.expectNoDanglingRows()
    }

    // MARK: - Foreign keys

    @Test(arguments: foreignKeyColumns)
    func foreignKeyRejectsADanglingReference(_ target: TableColumn) async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        var values = try await validRow[target.table]!(test, chain)
        if target.table == "api_tokens" {
            let kinds = ["user_id": "user", "agent_id": "agent", "account_tool_environment_id": "toolbox"]
            values["user_id"] = .null
            values["kind"] = kinds[target.column]!.databaseValue
        }
        values[target.column] = UUID().uuidString.lowercased().databaseValue
        let error = await #expect(throws: StorageError.self) { try await test.insertRow(target.table, values) }
        #expect(error?.code == .foreignKeyViolation)
        try test.expectNoDanglingRows()
    }

    @Test func foreignKeyTestsCoverEveryForeignKey() async throws {
        let test = try TestDatabase()
        let declared = try await test.database.read { db in
            var declared: Set<String> = []
            for table in expectedColumns.keys {
                for column in try String.fetchAll(db, sql: "SELECT \"from\" FROM pragma_foreign_key_list(?)", arguments: [table]) {
                    declared.insert("\(table).\(column)")
                }
            }
            return declared
        }
        #expect(declared == Set(foreignKeyColumns.map(\.testDescription)))
        try test.expectNoDanglingRows()
    }

    // MARK: - Audit log

    @Test func auditLogRefusesUpdateAndDelete() async throws {
        let test = try TestDatabase()
        let entry = try await test.database.insert(
            AuditLogEntry(actorKind: .user, actorID: UUID(), action: "token.create", outcome: .ok, prevHash: Data(count: 32), hash: randomData()))

        for sql in [
            "UPDATE audit_log SET outcome = 'denied' WHERE id = ?",
            "DELETE FROM audit_log WHERE id = ?",
        ] {
            let error = await #expect(throws: StorageError.self, "\(sql)") {
                try await test.execute(sql, [entry.id.uuidString.lowercased()])
            }
            #expect(error?.code == .constraintViolation)
            #expect(error?.message.contains("audit_log is append-only") == true)
        }
        #expect(try await test.database.fetchAuditLogEntry(id: entry.id) == entry)
        #expect(try await test.count("audit_log") == 1)
        try test.expectNoDanglingRows()
    }

    // MARK: - Errors

    @Test func constraintErrorsCarryNoSQLTextOrValues() async throws {
        let test = try TestDatabase()
        try await test.database.insert(User(name: "secret-looking-name"))
        let error = await #expect(throws: StorageError.self) { try await test.database.insert(User(name: "secret-looking-name")) }
        let text = try #require(error).description
        #expect(!text.contains("INSERT"))
        #expect(!text.contains("secret-looking-name"))
        #expect(text.contains("users.name"))
        try test.expectNoDanglingRows()
    }
}

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Services
import Storage
import TestSupport
import Testing
import Vault

/// `agentbox import postgres` against a real PostgreSQL holding the hosted stack's tables and a stand-in of its
/// vault's decrypted-secrets view, filled with a few hundred good rows and a handful of bad ones.
@Suite(.serialized) struct ImportPostgresTests {
    /// The source's tables: the seed's columns, without the constraints that would keep the bad rows out (a
    /// deployment that drifted), and `vault.decrypted_secrets` as the hosted vault shows it.
    static let schema = """
        CREATE TABLE users (id uuid PRIMARY KEY, email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE agents (id uuid PRIMARY KEY, user_id uuid NOT NULL, name text NOT NULL, description text,
            created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
        CREATE TABLE tool_catalog (id uuid PRIMARY KEY, name text NOT NULL, description text, docker_image_url text NOT NULL,
            default_config_json_schema jsonb, required_capabilities_schema jsonb, required_secrets_schema jsonb, version text,
            is_enabled boolean DEFAULT true, created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
        CREATE TABLE account_tool_environments (id uuid PRIMARY KEY, user_id uuid NOT NULL, droplet_id bigint, name text NOT NULL,
            region text, size_slug text, status text NOT NULL, dtma_bearer_token text, public_ip_address text,
            created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
        CREATE TABLE account_tool_instances (id uuid PRIMARY KEY, account_tool_environment_id uuid NOT NULL, tool_catalog_id uuid NOT NULL,
            instance_name_on_toolbox text NOT NULL, status_on_toolbox text NOT NULL, port_mapping_json jsonb, last_heartbeat_from_dtma timestamptz,
            version text, base_config_override_json jsonb, created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
        CREATE TABLE agent_toolbox_access (id uuid PRIMARY KEY, agent_id uuid NOT NULL, account_tool_environment_id uuid NOT NULL,
            granted_at timestamptz DEFAULT now());
        CREATE TABLE agent_toolbelt_items (id uuid PRIMARY KEY, agent_id uuid NOT NULL, account_tool_instance_id uuid NOT NULL,
            is_active_for_agent boolean DEFAULT true, created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
        CREATE TABLE agent_tool_capability_permissions (id uuid PRIMARY KEY, agent_toolbelt_item_id uuid NOT NULL, capability_name text NOT NULL,
            is_allowed boolean NOT NULL, created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
        CREATE TABLE agent_tool_credentials (id uuid PRIMARY KEY, agent_toolbelt_item_id uuid NOT NULL, credential_type text NOT NULL,
            encrypted_credentials uuid, account_identifier text, last_validated_at timestamptz, status text NOT NULL,
            created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
        CREATE SCHEMA vault;
        CREATE TABLE vault.secrets (id uuid PRIMARY KEY, name text, secret text NOT NULL);
        CREATE VIEW vault.decrypted_secrets AS SELECT id, name, secret FROM vault.secrets;
        """

    /// 275 good rows: 10 users with a droplet toolbox each, 20 agents, 5 tools, 50 instances, 20 grants, 40 toolbelt
    /// items with 2 permissions and 1 credential each. Ids are md5 of a name and a number, so the test knows them.
    static let goodRows = """
        INSERT INTO users SELECT md5('user' || n)::uuid, 'user' || n || '@example.com' FROM generate_series(1, 10) n;
        INSERT INTO agents (id, user_id, name, description)
            SELECT md5('agent' || n)::uuid, md5('user' || ((n - 1) % 10 + 1))::uuid, 'agent-' || n, 'agent number ' || n FROM generate_series(1, 20) n;
        INSERT INTO tool_catalog (id, name, description, docker_image_url, default_config_json_schema, required_capabilities_schema,
                                  required_secrets_schema, version)
            SELECT md5('tool' || n)::uuid, 'tool-' || n, 'tool number ' || n, 'registry.example.com/tools/tool-' || n || ':1.0', '{"type": "object"}',
                   '{"read": "Read things", "write": "Write things"}',
                   '{"type": "object", "required": ["api_key"], "properties": {"api_key": {"type": "string"}}}', '1.0'
            FROM generate_series(1, 5) n;
        INSERT INTO account_tool_environments (id, user_id, droplet_id, name, region, size_slug, status, public_ip_address)
            SELECT md5('toolbox' || n)::uuid, md5('user' || n)::uuid, 400000000 + n, 'droplet-' || n, 'nyc3', 's-1vcpu-1gb', 'active', '203.0.113.' || n
            FROM generate_series(1, 10) n;
        INSERT INTO account_tool_instances (id, account_tool_environment_id, tool_catalog_id, instance_name_on_toolbox, status_on_toolbox,
                                            port_mapping_json, version)
            SELECT md5('instance' || n)::uuid, md5('toolbox' || ((n - 1) % 10 + 1))::uuid, md5('tool' || ((n - 1) % 5 + 1))::uuid,
                   'tool-' || n, 'running', json_build_object('container_port', 8080, 'host_port', 30000 + n), '1.0'
            FROM generate_series(1, 50) n;
        INSERT INTO agent_toolbox_access (id, agent_id, account_tool_environment_id)
            SELECT md5('access' || n)::uuid, md5('agent' || n)::uuid, md5('toolbox' || ((n - 1) % 10 + 1))::uuid FROM generate_series(1, 20) n;
        INSERT INTO agent_toolbelt_items (id, agent_id, account_tool_instance_id)
            SELECT md5('item' || n)::uuid, md5('agent' || ((n - 1) % 20 + 1))::uuid,
                   md5('instance' || (((n - 1) % 20) % 10 + 1 + 10 * ((n - 1) / 20)))::uuid
            FROM generate_series(1, 40) n;
        INSERT INTO agent_tool_capability_permissions (id, agent_toolbelt_item_id, capability_name, is_allowed)
            SELECT md5('permission-read' || n)::uuid, md5('item' || n)::uuid, 'read', true FROM generate_series(1, 40) n
            UNION ALL
            SELECT md5('permission-write' || n)::uuid, md5('item' || n)::uuid, 'write', false FROM generate_series(1, 40) n;
        INSERT INTO vault.secrets SELECT md5('secret' || n)::uuid, 'credential ' || n, '{"api_key":"canary-import-' || n || '"}' FROM generate_series(1, 40) n;
        INSERT INTO agent_tool_credentials (id, agent_toolbelt_item_id, credential_type, encrypted_credentials, account_identifier, status)
            SELECT md5('credential' || n)::uuid, md5('item' || n)::uuid, 'api_key', md5('secret' || n)::uuid, 'someone' || n || '@gmail.com', 'active'
            FROM generate_series(1, 40) n;
        """

    /// The bad rows, each with the table it is in; their ids end in b00N.
    static let badRows: [(table: String, id: String, sql: String)] = [
        ("account_tool_environments", bad(1), "INSERT INTO account_tool_environments (id, user_id, name, status) VALUES ('\(bad(1))', md5('user1')::uuid, 'exploded', 'exploded')"),
        (
            "account_tool_instances", bad(2),
            "INSERT INTO account_tool_instances (id, account_tool_environment_id, tool_catalog_id, instance_name_on_toolbox, status_on_toolbox) VALUES ('\(bad(2))', '\(bad(1))', md5('tool1')::uuid, 'orphan', 'running')"
        ),
        (
            "account_tool_instances", bad(3),
            "INSERT INTO account_tool_instances (id, account_tool_environment_id, tool_catalog_id, instance_name_on_toolbox, status_on_toolbox) VALUES ('\(bad(3))', md5('toolbox1')::uuid, '\(bad(99))', 'no-tool', 'running')"
        ),
        (
            "agent_tool_credentials", bad(4),
            "INSERT INTO agent_tool_credentials (id, agent_toolbelt_item_id, credential_type, encrypted_credentials, status) VALUES ('\(bad(4))', md5('item1')::uuid, 'api_key', '\(bad(98))', 'revoked')"
        ),
        (
            "agent_tool_capability_permissions", bad(5),
            "INSERT INTO agent_tool_capability_permissions (id, agent_toolbelt_item_id, capability_name, is_allowed) VALUES ('\(bad(5))', md5('item1')::uuid, 'launch', true)"
        ),
        ("agents", bad(6), "INSERT INTO agents (id, user_id, name) VALUES ('\(bad(6))', '\(bad(97))', 'stray')"),
        (
            "account_tool_instances", bad(7),
            "INSERT INTO account_tool_instances (id, account_tool_environment_id, tool_catalog_id, instance_name_on_toolbox, status_on_toolbox) VALUES ('\(bad(7))', md5('toolbox1')::uuid, md5('tool1')::uuid, 'bad-status', 'teleporting')"
        ),
    ]

    static func bad(_ n: Int) -> String { String(format: "00000000-0000-4000-8000-00000000b%03d", n) }

    /// The ids the source gave its good rows (`md5(name)::uuid`), by name: user1, toolbox1, instance1, ...
    static func ids(_ cluster: PostgresCluster) async throws -> [String: UUID] {
        let counts = ["user": 10, "agent": 20, "tool": 5, "toolbox": 10, "instance": 50, "item": 40, "credential": 40]
        let names = counts.flatMap { name, count in (1...count).map { "'\(name)\($0)'" } }
        let lines = try await cluster.psql("SELECT n || ' ' || md5(n)::uuid FROM unnest(ARRAY[\(names.joined(separator: ","))]) n")
        return Dictionary(uniqueKeysWithValues: lines.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            return parts.count == 2 ? UUID(uuidString: String(parts[1])).map { (String(parts[0]), $0) } : nil
        })
    }

    /// The imported, already-here and refused counts the report gives for `table`.
    static func counts(_ output: String, _ table: String) -> [String] {
        output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.first { $0.first == table }.map { Array($0.dropFirst()) } ?? []
    }

    @Test func aDryRunReportsTheBadRowsAndTheImportBringsEveryGoodRowSealedOnceOnly() async throws {
        let cluster = try await PostgresCluster.start()
        defer { Task { await cluster.stop() } }
        try await cluster.psql(Self.schema + Self.goodRows + Self.badRows.map { $0.sql + ";\n" }.joined())
        // Toolbox 2's droplet exists (in the DigitalOcean stand-in), made by the hosted stack: without agentbox's tag.
        let simFolder = try TemporaryDirectory()
        let sim = try await StandInProcess.start(folder: simFolder)
        defer { Task { await sim.stop() } }
        let hostedDroplet = try await Self.createDroplet(sim)
        try await cluster.psql("UPDATE account_tool_environments SET droplet_id = \(hostedDroplet) WHERE id = md5('toolbox2')::uuid")
        let id = try await Self.ids(cluster)
        func uuid(_ name: String) throws -> UUID { try #require(id[name], "no id for \(name)") }
        // An appliance with its admin, stopped: the import holds the data directory.
        let api = try await TestAPI.start()
        _ = try await api.server.stop()
        let folder = api.folder
        let agentbox = AgentboxProcess(folder: folder)
        let data = folder.appending("data")
        let importing = ["import", "postgres", "--url", cluster.url, "--data-dir", data]

        // The dry run names exactly the bad rows, each with why, and writes nothing.
        let dry = try await agentbox.run(importing + ["--dry-run"])
        #expect(dry.status == 0, "\(dry.output)")
        let refused = Set(dry.output.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard line.hasPrefix("  "), words.count > 2, words[1].hasSuffix(":") else { return nil }
            return "\(words[0]) \(words[1].dropLast())"
        })
        #expect(refused == Set(Self.badRows.map { "\($0.table) \($0.id)" }), "\(dry.output)")
        #expect(dry.output.contains("status 'exploded' is not one of"), "\(dry.output)")
        #expect(dry.output.contains("was refused") && dry.output.contains("dangling reference"), "\(dry.output)")
        #expect(dry.output.contains("is not in vault.decrypted_secrets") && dry.output.contains("'launch' is not one of"), "\(dry.output)")
        #expect(dry.output.contains("status_on_toolbox 'teleporting'"), "\(dry.output)")
        let empty = try await Self.dump(data, folder)
        #expect(!empty.contains("user1@example.com"), "the dry run wrote nothing")

        // The import brings every good row, with its id and links.
        let real = try await agentbox.run(importing)
        #expect(real.status == 0, "\(real.output)")
        #expect(Self.counts(real.output, "account_tool_instances") == ["50", "0", "3"], "\(real.output)")
        #expect(Self.counts(real.output, "agent_tool_credentials") == ["40", "0", "1"], "\(real.output)")
        #expect(real.output.contains("reenroll") && real.output.contains("droplet 400000007"), "\(real.output)")
        let backend = try await Backend.open(
            DataDirectory(path: data), keys: MasterKeyConfiguration(keyFilePath: DataDirectory(path: data).defaultKeyFilePath), mode: .offlineRead,
            logger: Logger(label: "test"))
        let database = backend.database
        for n in 1...10 {
            let user = try #require(try await database.fetchUser(id: try uuid("user\(n)")))
            #expect(user.name == "user\(n)@example.com" && user.role == .user)
            let toolbox = try #require(try await database.fetchAccountToolEnvironment(id: try uuid("toolbox\(n)")))
            #expect(toolbox.userID == user.id && toolbox.dropletID == Int64(n == 2 ? hostedDroplet : 400_000_000 + n) && toolbox.provider == .digitalocean)
            #expect(toolbox.status == .active && toolbox.statusDetail?.contains("reenroll") == true && toolbox.publicIPAddress == "203.0.113.\(n)")
        }
        for n in 1...50 {
            let instance = try #require(try await database.fetchAccountToolInstance(id: try uuid("instance\(n)")))
            #expect(instance.accountToolEnvironmentID == (try uuid("toolbox\((n - 1) % 10 + 1)")))
            #expect(instance.toolCatalogID == (try uuid("tool\((n - 1) % 5 + 1)")) && instance.statusOnToolbox == .running)
        }
        let sealing = CredentialSealing(database: database, vault: backend.vault)
        for n in 1...40 {
            let item = try #require(try await database.fetchAgentToolbeltItem(id: try uuid("item\(n)")))
            #expect(item.agentID == (try uuid("agent\((n - 1) % 20 + 1)")))
            let permissions = try await database.fetchAgentToolCapabilityPermissions(agentToolbeltItemID: item.id)
            #expect(Set(permissions.map { "\($0.capabilityName)=\($0.isAllowed)" }) == ["read=true", "write=false"])
            // Every credential opens with agentbox's vault and equals its source; only a masked identifier is kept.
            let credentialID = try uuid("credential\(n)")
            let credential = try #require(try await database.fetchAgentToolCredential(id: credentialID))
            #expect(credential.agentToolbeltItemID == item.id && credential.status == .active && credential.accountIdentifier?.contains("***") == true)
            let opened = try await sealing.open(credentialID: credentialID)
            #expect(opened.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } == "{\"api_key\":\"canary-import-\(n)\"}")
        }
        for (table, id, _) in Self.badRows {
            let uuid = try #require(UUID(uuidString: id))
            switch table {
            case "account_tool_instances": #expect(try await database.fetchAccountToolInstance(id: uuid) == nil)
            case "account_tool_environments": #expect(try await database.fetchAccountToolEnvironment(id: uuid) == nil)
            case "agents": #expect(try await database.fetchAgent(id: uuid) == nil)
            case "agent_tool_credentials": #expect(try await database.fetchAgentToolCredential(id: uuid) == nil)
            default: #expect(try await database.fetchAgentToolCapabilityPermission(id: uuid) == nil)
            }
        }

        // No secret in plain text in the database files or anything the command printed.
        let after = try await Self.dump(data, folder)
        #expect(after.contains("user1@example.com"))
        for file in ["agentbox.sqlite", "agentbox.sqlite-wal"] {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: data + "/" + file))) ?? Data()
            #expect(bytes.range(of: Data("canary-import-".utf8)) == nil, "\(file) holds a secret in plain text")
        }
        #expect(!dry.output.contains("canary-import-") && !real.output.contains("canary-import-"))

        // A second run imports nothing and changes nothing.
        let again = try await agentbox.run(importing)
        #expect(again.status == 0, "\(again.output)")
        #expect(try await Self.dump(data, folder) == after, "the second run changed the database: \(again.output)")
        #expect(Self.counts(again.output, "users") == ["0", "10", "0"], "\(again.output)")
        #expect(Self.counts(again.output, "agent_tool_credentials") == ["0", "40", "1"], "\(again.output)")

        // An imported droplet enrolls agentbox's agent with the script `agentbox toolbox reenroll` prints.
        let served = try await api.restarted(
            serveArguments: ["--reconcile-interval", "0", "--public-url", "https://agentbox.example.com", "--digitalocean-api", sim.baseURL])
        let toolbox = try uuid("toolbox1").uuidString.lowercased()
        let bob = try await served.createUser("bob")
        #expect(try await served.request("POST", "/api/v1/toolboxes/\(toolbox)/reenroll", token: bob.token).status == 404)
        let reenroll = try await served.request("POST", "/api/v1/toolboxes/\(toolbox)/reenroll", token: served.adminToken)
        let script = try #require(reenroll.string("script"), "\(String(decoding: reenroll.body, as: UTF8.self))")
        #expect(reenroll.status == 200 && script.hasPrefix("#!/bin/sh\n") && script.contains("AGENTBOX_TOOLBOX_ID=\(toolbox)"))
        #expect(script.contains("AGENTBOX_APPLIANCE_URL=https://agentbox.example.com") && !script.contains(served.adminToken))
        let scriptFile = folder.appending("enroll.sh")
        try script.write(toFile: scriptFile, atomically: true, encoding: .utf8)
        _ = try await Command.run(["sh", "-n", scriptFile], in: folder)
        let tokenLine = script.split(separator: "\n").first { $0.hasPrefix("abx_e_") }
        let enrollmentToken = try #require(tokenLine.map(String.init), "\(script)")
        let enrolled = try await served.request("POST", "/api/v1/dtma/enroll", token: enrollmentToken)
        #expect(enrolled.status == 200 || enrolled.status == 201, "\(ToolAPIFixtures.text(enrolled))")
        let after2 = try await served.request("GET", "/api/v1/toolboxes/\(toolbox)", token: served.adminToken)
        #expect(after2.string("status_detail") == "its agent enrolled; waiting for its first heartbeat", "\(after2.json)")
        #expect(try await served.request("POST", "/api/v1/dtma/enroll", token: enrollmentToken).status == 401, "an enrollment token serves once")

        // Deprovisioning an imported toolbox deletes its droplet by id, though it lacks agentbox's tag.
        #expect(try await served.request("PUT", "/api/v1/admin/digitalocean/token", token: served.adminToken, body: ["token": sim.token]).status == 200)
        let second = try uuid("toolbox2").uuidString.lowercased()
        #expect(try await served.request("DELETE", "/api/v1/toolboxes/\(second)?cascade=true", token: served.adminToken).status == 200)
        let archived = try await DigitalOceanToolboxTests.until(served, second, token: served.adminToken) { $0["status"] as? String == "archived" }
        #expect(archived["status"] as? String == "archived", "\(archived)")
        let droplets = try await sim.state()["droplets"] as? [[String: Any]] ?? []
        #expect(!droplets.contains { $0["id"] as? Int == hostedDroplet }, "the hosted stack's droplet was deleted: \(droplets)")
    }

    /// A droplet made straight through the stand-in's API, as the hosted stack made them; its id.
    static func createDroplet(_ sim: StandInProcess) async throws -> Int {
        var request = URLRequest(url: try #require(URL(string: sim.baseURL + "/v2/droplets")))
        request.httpMethod = "POST"
        request.setValue("Bearer \(sim.token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"name": "hosted-dtma-2", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}"#.utf8)
        let (body, _) = try await URLSession.shared.data(for: request)
        let droplet = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["droplet"] as? [String: Any]
        return try #require(droplet?["id"] as? Int, "\(String(decoding: body, as: UTF8.self))")
    }

    @Test func aPasswordInTheURLIsRefusedBeforeAnythingIsRead() async throws {
        let folder = try TemporaryDirectory()
        let outcome = try await AgentboxProcess(folder: folder).run(
            ["import", "postgres", "--url", "postgres://admin:hunter2@db.example.com/postgres", "--data-dir", folder.appending("data")])
        #expect(outcome.status != 0 && outcome.output.contains("PGPASSWORD"), "\(outcome.output)")
        #expect(!FileManager.default.fileExists(atPath: folder.appending("data/agentbox.sqlite")))
    }

    /// The whole database as SQL text.
    static func dump(_ data: String, _ folder: TemporaryDirectory) async throws -> String {
        guard FileManager.default.fileExists(atPath: data + "/agentbox.sqlite") else { return "" }
        return try await Command.run(["sqlite3", "-readonly", "-cmd", ".timeout 5000", data + "/agentbox.sqlite", ".dump"], in: folder)
    }
}

import Foundation
import JSONSchema
import Services
import Storage
import TestSupport
import Testing

/// A control plane over a real data directory, with an admin and two users, for the catalog, toolbox and instance tests.
struct CatalogTestBed {
    let test: TestBackend
    let plane: ControlPlane
    let admin: Principal
    let ada: Principal
    let bob: Principal

    static func make() async throws -> CatalogTestBed {
        let test = try await TestBackend.make()
        let admin = try await test.database.insert(User(name: "root", role: .admin))
        let ada = try await test.database.insert(User(name: "ada"))
        let bob = try await test.database.insert(User(name: "bob"))
        return CatalogTestBed(test: test, plane: ControlPlane(backend: test.backend), admin: .user(admin), ada: .user(ada), bob: .user(bob))
    }

    var database: AppDatabase { test.database }

    /// A catalog definition with a config schema that has one optional integer and one optional string.
    static func definition(_ name: String = "gmail", enabled: Bool = true, config: JSONValue? = nil) -> CatalogService.Definition {
        CatalogService.Definition(
            name: name, description: "Send and read mail", dockerImageURL: "ghcr.io/acme/\(name):1.0.0", version: "1.0.0",
            containerPort: 8080, memoryLimitMB: 256, cpuLimit: 0.5, isEnabled: enabled,
            defaultConfigJSONSchema: config ?? [
                "type": "object", "additionalProperties": false,
                "properties": ["workers": ["type": "integer", "minimum": 1, "maximum": 8], "label": ["type": "string", "maxLength": 10]],
            ],
            requiredCapabilitiesSchema: ["gmail_send": "Send Email", "gmail_read": ["description": "Read Email", "input_schema": ["type": "object"]]],
            requiredSecretsSchema: ["type": "object", "required": ["api_key"], "properties": ["api_key": ["type": "string", "minLength": 1]]])
    }

    /// Adds a tool to the catalog as the admin.
    func tool(_ name: String = "gmail", enabled: Bool = true, config: JSONValue? = nil) async throws -> ToolCatalogEntry {
        try await plane.catalog.create(Self.definition(name, enabled: enabled, config: config), by: admin)
    }

    /// A local toolbox owned by `owner`.
    func toolbox(_ name: String = "home", owner: Principal) async throws -> AccountToolEnvironment {
        try await plane.toolboxes.create(name: name, provider: "local", by: owner)
    }

    /// Every audit record's action, oldest first.
    func auditActions() async throws -> [String] {
        try await database.fetchAuditLogEntries().map(\.action)
    }

    /// How many catalog entries exist.
    func catalogCount() async throws -> Int {
        try await database.snapshot { tx in try tx.toolCatalogEntries(enabled: nil, name: nil, page: PageRequest()).total }
    }

    /// Runs `body`, which must fail with a `ServiceError`, and returns that error so its code and message can be checked.
    static func failure(_ body: () async throws -> Void) async -> ServiceError? {
        do {
            try await body()
            Issue.record("expected a ServiceError; nothing was thrown")
            return nil
        } catch let error as ServiceError {
            return error
        } catch {
            Issue.record("expected a ServiceError, got \(error)")
            return nil
        }
    }

    /// The audit records about one row, oldest first.
    func audit(of id: UUID) async throws -> [AuditLogEntry] {
        try await database.fetchAuditLogEntries().filter { $0.targetID == id.uuidString.lowercased() }
    }
}


/// The tool catalog's rules: admin writes, enabled reads, schemas checked when saved, names unique, in-use entries kept.
struct CatalogServiceTests {
    @Test func anAdminAddsAToolWhoseSchemasAreStoredAsTheyWereGiven() async throws {
        let bed = try await CatalogTestBed.make()
        let entry = try await bed.tool()
        let stored = try #require(try await bed.database.fetchToolCatalogEntry(id: entry.id))
        #expect(stored == entry)
        #expect(try JSONValue(parsing: stored.requiredCapabilitiesSchema) == CatalogTestBed.definition().requiredCapabilitiesSchema)
        #expect(try JSONValue(parsing: stored.defaultConfigJSONSchema) == CatalogTestBed.definition().defaultConfigJSONSchema)
        #expect(stored.containerPort == 8080 && stored.memoryLimitMB == 256 && stored.cpuLimit == 0.5 && stored.protocol == .agentboxV1)
        #expect(try await bed.audit(of: entry.id).map(\.action) == ["catalog.create"])
    }

    @Test func onlyAdminsWriteTheCatalog() async throws {
        let bed = try await CatalogTestBed.make()
        let entry = try await bed.tool()
        let agent = try await bed.database.insert(Agent(userID: try bed.ada.requireUser().id, name: "helper"))
        for principal in [bed.ada, Principal.agent(agent)] {
            #expect(await CatalogTestBed.failure { _ = try await bed.plane.catalog.create(CatalogTestBed.definition("other"), by: principal) }?.code == .forbidden)
            #expect(await CatalogTestBed.failure { _ = try await bed.plane.catalog.update(entry.id, .init(name: "x"), by: principal) }?.code == .forbidden)
            #expect(await CatalogTestBed.failure { try await bed.plane.catalog.delete(entry.id, by: principal) }?.code == .forbidden)
        }
        #expect(try await bed.database.fetchToolCatalogEntry(id: entry.id) == entry)
    }

    @Test func usersReadOnlyEnabledEntriesWhileAdminsReadAllAndFilter() async throws {
        let bed = try await CatalogTestBed.make()
        let on = try await bed.tool("gmail")
        let off = try await bed.tool("slack", enabled: false)
        let page = PageRequest()
        #expect(try await bed.plane.catalog.list(enabled: nil, name: nil, page: page, by: bed.ada).items.map(\.id) == [on.id])
        #expect(try await bed.plane.catalog.list(enabled: false, name: nil, page: page, by: bed.ada).items.isEmpty)
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.catalog.get(off.id, by: bed.ada) }?.code == .notFound)
        #expect(try await bed.plane.catalog.get(on.id, by: bed.ada) == on)
        #expect(try await bed.plane.catalog.list(enabled: nil, name: nil, page: page, by: bed.admin).items.map(\.id) == [on.id, off.id])
        #expect(try await bed.plane.catalog.list(enabled: false, name: nil, page: page, by: bed.admin).items.map(\.id) == [off.id])
        #expect(try await bed.plane.catalog.list(enabled: nil, name: "SLACK", page: page, by: bed.admin).items.map(\.id) == [off.id])
        #expect(try await bed.plane.catalog.get(off.id, by: bed.admin) == off)
    }

    @Test func namesAreUniqueWithoutRegardToCase() async throws {
        let bed = try await CatalogTestBed.make()
        let gmail = try await bed.tool("gmail")
        let slack = try await bed.tool("slack")
        var definition = CatalogTestBed.definition("other")
        definition.name = "GMail"
        let duplicate = await CatalogTestBed.failure { _ = try await bed.plane.catalog.create(definition, by: bed.admin) }
        #expect(duplicate?.code == .conflict)
        #expect(duplicate?.message.contains(gmail.id.uuidString.lowercased()) == true)
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.catalog.update(slack.id, .init(name: "Gmail"), by: bed.admin) }?.code == .conflict)
        // Keeping one's own name (in another case) is no clash.
        #expect(try await bed.plane.catalog.update(gmail.id, .init(name: "Gmail"), by: bed.admin).name == "Gmail")
    }

    @Test func aSchemaWithAnUnsupportedKeywordIsRefusedNamingIt() async throws {
        let bed = try await CatalogTestBed.make()
        var definition = CatalogTestBed.definition()
        definition.defaultConfigJSONSchema = ["type": "object", "properties": ["mode": ["oneOf": [["const": "a"], ["const": "b"]]]]]
        let config = await CatalogTestBed.failure { _ = try await bed.plane.catalog.create(definition, by: bed.admin) }
        #expect(config?.code == .unprocessable)
        #expect(config?.message.contains("default_config_json_schema") == true)
        #expect(config?.message.contains("\"oneOf\"") == true)
        #expect(config?.message.contains("/properties/mode") == true)

        definition = CatalogTestBed.definition()
        definition.requiredSecretsSchema = ["$ref": "#/definitions/secret"]
        let secrets = await CatalogTestBed.failure { _ = try await bed.plane.catalog.create(definition, by: bed.admin) }
        #expect(secrets?.code == .unprocessable)
        #expect(secrets?.message.contains("required_secrets_schema") == true)
        #expect(secrets?.message.contains("\"$ref\"") == true)

        definition = CatalogTestBed.definition()
        definition.defaultConfigJSONSchema = ["type": "object", "minLength": -1]
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.catalog.create(definition, by: bed.admin) }?.code == .unprocessable)

        // A schema given as a string (JSON text) instead of an object is malformed.
        definition = CatalogTestBed.definition()
        definition.requiredSecretsSchema = .string(#"{"type": "object"}"#)
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.catalog.create(definition, by: bed.admin) }?.code == .invalidRequest)

        // The same checks guard updates.
        let entry = try await bed.tool()
        let update = await CatalogTestBed.failure {
            _ = try await bed.plane.catalog.update(entry.id, .init(defaultConfigJSONSchema: ["anyOf": []]), by: bed.admin)
        }
        #expect(update?.code == .unprocessable)
        #expect(update?.message.contains("\"anyOf\"") == true)
        #expect(try await bed.database.fetchToolCatalogEntry(id: entry.id) == entry)
        #expect(try await bed.catalogCount() == 1)
    }

    @Test func aBadCapabilityMapIsRefused() async throws {
        let bed = try await CatalogTestBed.make()
        let maps: [JSONValue] = [
            [:], ["Gmail Send": "Send"], ["gmail_send": 3], ["gmail_send": ["summary": "Send"]],
            ["gmail_send": ["description": "Send", "input_schema": ["if": true]]],
        ]
        for map in maps {
            var definition = CatalogTestBed.definition()
            definition.requiredCapabilitiesSchema = map
            #expect(await CatalogTestBed.failure { _ = try await bed.plane.catalog.create(definition, by: bed.admin) }?.code == .unprocessable, "\(map.jsonText)")
        }
        var definition = CatalogTestBed.definition()
        definition.requiredCapabilitiesSchema = ["gmail_send", "gmail_read"]
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.catalog.create(definition, by: bed.admin) }?.code == .invalidRequest)
    }

    @Test func imageReferencesFollowDockersGrammar() throws {
        let good = [
            "nginx", "nginx:1.27", "library/nginx:latest", "ghcr.io/acme/gmail:1.2.0", "127.0.0.1:5000/tools/gmail:1.0.0",
            "localhost:5000/a/b/c", "registry.example.com/team/tool_name__x.y-z:v1_2.3-rc",
            "ghcr.io/acme/gmail@sha256:" + String(repeating: "a1", count: 32), "acme/gmail:1.0@sha256:" + String(repeating: "0", count: 64),
            "Registry.Example.com/acme/tool",
        ]
        for reference in good {
            #expect(try ImageReference.validate(reference) == reference)
        }
        let bad = [
            "", "Nginx", "acme/Gmail", "https://ghcr.io/acme/gmail", "ghcr.io/acme/gmail:", "ghcr.io/acme/gmail:-x", "acme//gmail",
            "acme/gmail@sha256:abc", "acme/gmail@md5:" + String(repeating: "0", count: 32), "acme/gmail tool", "acme/gmail:1.0\n",
            "registry:99999/acme/gmail", "-acme/gmail", "acme/gmail-", "acme/gm..ail", "ghcr.io/acme/gmail:" + String(repeating: "1", count: 129),
            "ghcr.io/" + String(repeating: "a", count: 600), "acme/gmäil",
        ]
        for reference in bad {
            let error = #expect(throws: ServiceError.self, "\(reference)") { try ImageReference.validate(reference) }
            #expect(error?.code == .invalidRequest)
            #expect(error?.message.hasPrefix("docker_image_url") == true)
        }
        #expect((try? ImageReference.validate("acme/Gmail")) == nil)
        #expect(throws: ServiceError.self) { try ImageReference.validate("Acme") }
    }

    @Test func fieldsOutOfBoundsAreRefusedNamingTheField() async throws {
        let bed = try await CatalogTestBed.make()
        let cases: [(String, (inout CatalogService.Definition) -> Void)] = [
            ("container_port", { $0.containerPort = 0 }), ("container_port", { $0.containerPort = 65_536 }),
            ("memory_limit_mb", { $0.memoryLimitMB = 1 }), ("memory_limit_mb", { $0.memoryLimitMB = 2_000_000 }),
            ("cpu_limit", { $0.cpuLimit = 0 }), ("cpu_limit", { $0.cpuLimit = .infinity }), ("cpu_limit", { $0.cpuLimit = 5_000 }),
            ("execute_timeout_ms", { $0.executeTimeoutMS = 10 }), ("execute_timeout_ms", { $0.executeTimeoutMS = 4_000_000 }),
            ("version", { $0.version = "1.0 beta" }), ("version", { $0.version = "" }), ("version", { $0.version = "-1" }),
            ("name", { $0.name = "   " }), ("description", { $0.description = String(repeating: "x", count: 2_001) }),
            ("docker_image_url", { $0.dockerImageURL = "ACME/TOOL" }),
        ]
        for (field, change) in cases {
            var definition = CatalogTestBed.definition()
            change(&definition)
            let error = await CatalogTestBed.failure { _ = try await bed.plane.catalog.create(definition, by: bed.admin) }
            #expect(error?.code == .invalidRequest, "\(field)")
            #expect(error?.message.contains(field) == true, "\(field): \(error?.message ?? "")")
        }
        #expect(try await bed.catalogCount() == 0)
    }

    @Test func anUpdateChangesOnlyWhatItNamesAndNullClearsLimits() async throws {
        let bed = try await CatalogTestBed.make()
        let entry = try await bed.tool()
        let updated = try await bed.plane.catalog.update(
            entry.id, .init(description: .some(nil), version: "1.1.0", memoryLimitMB: .some(nil), isEnabled: false), by: bed.admin)
        #expect(updated.description == nil && updated.memoryLimitMB == nil && updated.version == "1.1.0" && !updated.isEnabled)
        #expect(updated.cpuLimit == 0.5 && updated.name == entry.name && updated.requiredCapabilitiesSchema == entry.requiredCapabilitiesSchema)
        #expect(try await bed.database.fetchToolCatalogEntry(id: entry.id) == updated)
        let history = try await bed.audit(of: entry.id)
        #expect(history.map(\.action) == ["catalog.create", "catalog.update"])
        #expect(history.last?.detailJSON.contains(#""fields":"description,version,memory_limit_mb,is_enabled""#) == true)
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.catalog.update(UUID(), .init(version: "2"), by: bed.admin) }?.code == .notFound)
    }

    @Test func anEntryThatInstancesUseCannotBeDeletedAndTheRefusalNamesThem() async throws {
        let bed = try await CatalogTestBed.make()
        let entry = try await bed.tool()
        let toolbox = try await bed.toolbox(owner: bed.ada)
        let instance = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: entry.id, name: "mail-1", config: nil, by: bed.ada)
        let refused = await CatalogTestBed.failure { try await bed.plane.catalog.delete(entry.id, by: bed.admin) }
        #expect(refused?.code == .conflict)
        #expect(refused?.message.contains("mail-1 (\(instance.id.uuidString.lowercased()))") == true)
        #expect(try await bed.database.fetchToolCatalogEntry(id: entry.id) != nil)

        _ = try await bed.plane.instances.delete(instance.id, by: bed.ada)
        try await bed.plane.catalog.delete(entry.id, by: bed.admin)
        #expect(try await bed.database.fetchToolCatalogEntry(id: entry.id) == nil)
        #expect(try await bed.audit(of: entry.id).map(\.action) == ["catalog.create", "catalog.delete"])
        #expect(await CatalogTestBed.failure { try await bed.plane.catalog.delete(entry.id, by: bed.admin) }?.code == .notFound)
    }
}

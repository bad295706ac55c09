import Foundation
import TestSupport
import Testing

/// Catalog, toolbox and instance fixtures made through the API.
enum ToolAPIFixtures {
    /// A catalog body whose config schema allows an optional integer `workers` from 1 to 8 and nothing else.
    static func tool(_ name: String = "gmail", enabled: Bool = true) -> [String: Any] {
        [
            "name": name, "description": "Send and read mail", "docker_image_url": "ghcr.io/acme/\(name):1.0.0", "version": "1.0.0",
            "container_port": 8080, "protocol": "agentbox-v1", "memory_limit_mb": 256, "cpu_limit": 0.5, "execute_timeout_ms": 20_000,
            "is_enabled": enabled,
            "default_config_json_schema": [
                "type": "object", "additionalProperties": false, "properties": ["workers": ["type": "integer", "minimum": 1, "maximum": 8]],
            ],
            "required_capabilities_schema": ["gmail_send": "Send Email", "gmail_read": ["description": "Read Email", "input_schema": ["type": "object"]]],
            "required_secrets_schema": ["type": "object", "required": ["api_key"]],
        ]
    }

    /// Adds a tool as the admin and returns its id.
    static func addTool(_ api: TestAPI, _ name: String = "gmail", enabled: Bool = true) async throws -> String {
        let reply = try await api.request("POST", "/api/v1/catalog", token: api.adminToken, body: tool(name, enabled: enabled))
        #expect(reply.status == 201, "adding tool \(name): \(String(decoding: reply.body, as: UTF8.self))")
        return try #require(reply.string("id"))
    }

    /// Creates a local toolbox with `token` and returns its id.
    static func addToolbox(_ api: TestAPI, token: String, _ name: String = "home") async throws -> String {
        let reply = try await api.request("POST", "/api/v1/toolboxes", token: token, body: ["name": name, "provider": "local"])
        #expect(reply.status == 201, "creating toolbox \(name): \(String(decoding: reply.body, as: UTF8.self))")
        return try #require(reply.string("id"))
    }

    /// Deploys `toolID` on a toolbox with `token` and returns the instance's id.
    static func addInstance(_ api: TestAPI, token: String, toolbox: String, tool: String, _ name: String = "mail") async throws -> String {
        let reply = try await api.request("POST", "/api/v1/toolboxes/\(toolbox)/instances", token: token, body: ["tool_id": tool, "name": name])
        #expect(reply.status == 201, "deploying \(name): \(String(decoding: reply.body, as: UTF8.self))")
        return try #require(reply.string("id"))
    }

    /// The body as text, for failure messages.
    static func text(_ reply: TestAPI.Reply) -> String { String(decoding: reply.body.prefix(500), as: UTF8.self) }
}

/// The tool catalog over HTTP: admins write, users read enabled entries, schemas are objects checked when saved.
struct CatalogAPITests {
    @Test func anAdminAddsReadsChangesAndRemovesATool() async throws {
        let api = try await TestAPI.start()
        let created = try await api.request("POST", "/api/v1/catalog", token: api.adminToken, body: ToolAPIFixtures.tool())
        #expect(created.status == 201)
        let id = try #require(created.string("id"))
        #expect(id == id.lowercased())
        #expect(created.json["container_port"] as? Int == 8080 && created.json["memory_limit_mb"] as? Int == 256)
        #expect(created.json["cpu_limit"] as? Double == 0.5 && created.json["is_enabled"] as? Bool == true)
        #expect(created.string("protocol") == "agentbox-v1" && created.string("docker_image_url") == "ghcr.io/acme/gmail:1.0.0")
        let capabilities = try #require(created.json["required_capabilities_schema"] as? [String: Any], "schemas come back as objects")
        #expect(capabilities["gmail_send"] as? String == "Send Email")
        let config = try #require(created.json["default_config_json_schema"] as? [String: Any])
        #expect(config["additionalProperties"] as? Bool == false)
        #expect((created.json["required_secrets_schema"] as? [String: Any])?["required"] as? [String] == ["api_key"])
        #expect(Set(created.json.keys) == [
            "id", "name", "description", "docker_image_url", "version", "container_port", "protocol", "memory_limit_mb", "cpu_limit",
            "execute_timeout_ms", "is_enabled", "default_config_json_schema", "required_capabilities_schema", "required_secrets_schema",
            "created_at", "updated_at",
        ])

        let read = try await api.request("GET", "/api/v1/catalog/\(id)", token: api.adminToken)
        #expect(read.status == 200 && read.string("name") == "gmail")
        let changed = try await api.request(
            "PATCH", "/api/v1/catalog/\(id)", token: api.adminToken, body: ["version": "1.1.0", "memory_limit_mb": NSNull(), "protocol": "mcp"])
        #expect(changed.status == 200, "\(ToolAPIFixtures.text(changed))")
        #expect(changed.string("version") == "1.1.0" && changed.json["memory_limit_mb"] == nil && changed.string("protocol") == "mcp")
        #expect(changed.json["cpu_limit"] as? Double == 0.5, "fields a PATCH does not name stay")

        #expect(try await api.request("DELETE", "/api/v1/catalog/\(id)", token: api.adminToken).status == 204)
        let gone = try await api.request("GET", "/api/v1/catalog/\(id)", token: api.adminToken)
        #expect(gone.status == 404 && gone.errorCode == "not_found")
        let audit = try await api.request("GET", "/api/v1/audit?limit=200", token: api.adminToken)
        let actions = audit.items.filter { $0["target_id"] as? String == id }.compactMap { $0["action"] as? String }
        #expect(Set(actions) == ["catalog.create", "catalog.update", "catalog.delete"])
        try await api.stop()
    }

    @Test func usersReadEnabledToolsButCannotWriteTheCatalog() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let on = try await ToolAPIFixtures.addTool(api, "gmail")
        let off = try await ToolAPIFixtures.addTool(api, "slack", enabled: false)

        let list = try await api.request("GET", "/api/v1/catalog", token: ada.token)
        #expect(list.status == 200 && list.items.compactMap { $0["id"] as? String } == [on] && list.json["total"] as? Int == 1)
        #expect(try await api.request("GET", "/api/v1/catalog?enabled=false", token: ada.token).items.isEmpty)
        let hidden = try await api.request("GET", "/api/v1/catalog/\(off)", token: ada.token)
        #expect(hidden.status == 404 && hidden.errorCode == "not_found")
        #expect(try await api.request("GET", "/api/v1/catalog/\(on)", token: ada.token).status == 200)

        #expect(try await api.request("GET", "/api/v1/catalog", token: api.adminToken).items.count == 2)
        #expect(try await api.request("GET", "/api/v1/catalog?enabled=false", token: api.adminToken).items.compactMap { $0["id"] as? String } == [off])
        #expect(try await api.request("GET", "/api/v1/catalog?name=SLACK", token: api.adminToken).items.compactMap { $0["id"] as? String } == [off])

        for (method, path, body) in [
            ("POST", "/api/v1/catalog", ToolAPIFixtures.tool("eve")), ("PATCH", "/api/v1/catalog/\(on)", ["version": "6.6.6"]),
            ("DELETE", "/api/v1/catalog/\(on)", nil),
        ] as [(String, String, [String: Any]?)] {
            let reply = try await api.request(method, path, token: ada.token, body: body)
            #expect(reply.status == 403, "\(method) \(path)")
            #expect(reply.errorCode == "forbidden")
        }
        #expect(try await api.request("GET", "/api/v1/catalog/\(on)", token: ada.token).string("version") == "1.0.0", "the row is unchanged")
        let anonymous = try await api.request("GET", "/api/v1/catalog", token: nil)
        #expect(anonymous.status == 401 && anonymous.errorCode == "unauthenticated")
        try await api.stop()
    }

    @Test func badCatalogInputGetsTheRightStatusAndCode() async throws {
        let api = try await TestAPI.start()
        func with(_ changes: [String: Any?]) -> [String: Any] {
            var body = ToolAPIFixtures.tool("other")
            for (key, value) in changes { body[key] = value ?? nil }
            return body
        }
        func without(_ key: String) -> [String: Any] {
            var body = ToolAPIFixtures.tool("other")
            body[key] = nil
            return body
        }
        let cases: [(String, Any, Int, String, String?)] = [
            ("malformed JSON", Data("{\"name\": ".utf8), 400, "invalid_request", nil),
            ("missing name", without("name"), 400, "invalid_request", "name"),
            ("missing image", without("docker_image_url"), 400, "invalid_request", "docker_image_url"),
            ("missing capabilities", without("required_capabilities_schema"), 400, "invalid_request", "required_capabilities_schema"),
            ("port of the wrong type", with(["container_port": "8080"]), 400, "invalid_request", "container_port"),
            ("port out of range", with(["container_port": 70_000]), 400, "invalid_request", "container_port"),
            ("unknown protocol", with(["protocol": "grpc"]), 400, "invalid_request", "protocol"),
            ("memory too small", with(["memory_limit_mb": 1]), 400, "invalid_request", "memory_limit_mb"),
            ("cpu zero", with(["cpu_limit": 0]), 400, "invalid_request", "cpu_limit"),
            ("time-out too long", with(["execute_timeout_ms": 86_400_000]), 400, "invalid_request", "execute_timeout_ms"),
            ("bad version", with(["version": "1.0 final"]), 400, "invalid_request", "version"),
            ("uppercase image", with(["docker_image_url": "ghcr.io/Acme/Gmail:1"]), 400, "invalid_request", "lowercase"),
            ("image with a scheme", with(["docker_image_url": "https://ghcr.io/acme/gmail"]), 400, "invalid_request", "scheme"),
            ("null schema", with(["default_config_json_schema": NSNull()]), 400, "invalid_request", "default_config_json_schema"),
            ("null flag", with(["is_enabled": NSNull()]), 400, "invalid_request", "is_enabled"),
            ("schema as a string", with(["default_config_json_schema": #"{"type": "object"}"#]), 400, "invalid_request", "default_config_json_schema"),
            ("unsupported keyword", with(["default_config_json_schema": ["type": "object", "not": ["required": ["x"]]]]), 422, "unprocessable", "\"not\""),
            ("unsupported keyword in secrets", with(["required_secrets_schema": ["patternProperties": [:]]]), 422, "unprocessable", "patternProperties"),
            ("unknown keyword", with(["required_secrets_schema": ["requird": ["api_key"]]]), 422, "unprocessable", "requird"),
            ("empty capability map", with(["required_capabilities_schema": [:]]), 422, "unprocessable", "required_capabilities_schema"),
            ("bad capability name", with(["required_capabilities_schema": ["Send Mail": "x"]]), 422, "unprocessable", "Send Mail"),
            ("duplicate name", with(["name": "GMAIL"]), 409, "conflict", "gmail"),
        ]
        _ = try await ToolAPIFixtures.addTool(api, "gmail")
        for (label, body, status, code, mention) in cases {
            let reply = try await api.request("POST", "/api/v1/catalog", token: api.adminToken, body: body)
            #expect(reply.status == status, "\(label): \(ToolAPIFixtures.text(reply))")
            #expect(reply.errorCode == code, "\(label)")
            if let mention {
                let message = (reply.json["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains(mention), "\(label): \(message)")
            }
        }
        let id = try await ToolAPIFixtures.addTool(api, "slack")
        let patch = try await api.request("PATCH", "/api/v1/catalog/\(id)", token: api.adminToken, body: ["required_secrets_schema": ["allOf": []]])
        #expect(patch.status == 422 && patch.errorCode == "unprocessable")
        let flags = try await api.request("GET", "/api/v1/catalog?enabled=yes", token: api.adminToken)
        #expect(flags.status == 400 && flags.errorCode == "invalid_request")
        let huge = try await api.request("POST", "/api/v1/catalog", token: api.adminToken, body: Data(repeating: 0x20, count: 2 << 20))
        #expect(huge.status == 413 && huge.errorCode == "payload_too_large")
        #expect(try await api.request("GET", "/api/v1/catalog", token: api.adminToken).items.count == 2, "nothing bad was saved")
        let log = try await api.stop()
        #expect(!log.contains("request failed"), "no bad input may cause a 500")
    }

    @Test func aToolThatInstancesUseCannotBeRemovedAndTheRefusalNamesThem() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let tool = try await ToolAPIFixtures.addTool(api)
        let toolbox = try await ToolAPIFixtures.addToolbox(api, token: ada.token)
        let instance = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: toolbox, tool: tool, "mail-7")
        let refused = try await api.request("DELETE", "/api/v1/catalog/\(tool)", token: api.adminToken)
        #expect(refused.status == 409 && refused.errorCode == "conflict")
        let message = (refused.json["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("mail-7") && message.contains(instance))
        #expect(try await api.request("GET", "/api/v1/catalog/\(tool)", token: api.adminToken).status == 200)
        // Disabling it instead is allowed; the instance stays, and no new one can be deployed.
        #expect(try await api.request("PATCH", "/api/v1/catalog/\(tool)", token: api.adminToken, body: ["is_enabled": false]).status == 200)
        #expect(try await api.request("GET", "/api/v1/instances/\(instance)", token: ada.token).status == 200)
        let deploy = try await api.request(
            "POST", "/api/v1/toolboxes/\(toolbox)/instances", token: ada.token, body: ["tool_id": tool, "name": "mail-8"])
        #expect(deploy.status == 422 && deploy.errorCode == "unprocessable")
        try await api.stop()
    }
}

import Foundation
import TestSupport
import Testing

/// The rows a toolbelt hangs from, made over HTTP: a catalog tool (by the admin), and a user's agent, toolbox and instance.
struct ToolbeltAPIWorld {
    let agent: String
    let toolbox: String
    let tool: String
    let instance: String

    static var secretsSchema: [String: Any] {
        [
            "type": "object", "required": ["api_key"], "additionalProperties": false,
            "properties": ["api_key": ["type": "string", "minLength": 8], "account": ["type": "string", "format": "email"]],
        ]
    }

    /// Makes a world for the user with `token`; `name` keeps catalog and agent names unique.
    static func make(_ api: TestAPI, token: String, _ name: String) async throws -> ToolbeltAPIWorld {
        let tool = try await created(
            api, "POST", "/api/v1/catalog", token: api.adminToken,
            body: [
                "name": "\(name)-tool", "docker_image_url": "ghcr.io/acme/\(name):1.0.0", "version": "1.0.0", "container_port": 8080,
                "required_capabilities_schema": ["gmail_send": "Send Email", "gmail_read": ["description": "Read Email"]],
                "required_secrets_schema": secretsSchema,
            ])
        let agent = try await created(api, "POST", "/api/v1/agents", token: token, body: ["name": "\(name)-agent"])
        let toolbox = try await created(api, "POST", "/api/v1/toolboxes", token: token, body: ["name": "\(name)-box", "provider": "local"])
        let instance = try await created(api, "POST", "/api/v1/toolboxes/\(toolbox)/instances", token: token, body: ["tool_id": tool, "name": "\(name)-mail"])
        return ToolbeltAPIWorld(agent: agent, toolbox: toolbox, tool: tool, instance: instance)
    }

    /// A world whose agent has access to its toolbox and its instance on the belt; returns the item's id too.
    static func belted(_ api: TestAPI, token: String, _ name: String) async throws -> (ToolbeltAPIWorld, String) {
        let world = try await make(api, token: token, name)
        _ = try await created(api, "POST", "/api/v1/agents/\(world.agent)/toolboxes", token: token, body: ["toolbox_id": world.toolbox])
        let item = try await created(api, "POST", "/api/v1/agents/\(world.agent)/toolbelt", token: token, body: ["instance_id": world.instance])
        return (world, item)
    }

    /// Sends a request that must answer 201 and returns the new row's id.
    static func created(_ api: TestAPI, _ method: String, _ path: String, token: String, body: Any) async throws -> String {
        let reply = try await api.request(method, path, token: token, body: body)
        #expect(reply.status == 201, "\(method) \(path): \(text(reply))")
        return try #require(reply.string("id"))
    }

    static func text(_ reply: TestAPI.Reply) -> String { String(decoding: reply.body.prefix(600), as: UTF8.self) }
}

/// Toolbox access, toolbelt items and capability permissions over HTTP.
struct ToolbeltAPITests {
    @Test func theOwnerGrantsAccessAddsAnItemTogglesItAndSetsPermissions() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let world = try await ToolbeltAPIWorld.make(api, token: ada.token, "ada")

        let granted = try await api.request("POST", "/api/v1/agents/\(world.agent)/toolboxes", token: ada.token, body: ["toolbox_id": world.toolbox])
        #expect(granted.status == 201, "\(ToolbeltAPIWorld.text(granted))")
        #expect(Set(granted.json.keys) == ["id", "agent_id", "toolbox_id", "granted_at"])
        #expect(granted.string("agent_id") == world.agent && granted.string("toolbox_id") == world.toolbox)
        let access = try await api.request("GET", "/api/v1/agents/\(world.agent)/toolboxes", token: ada.token)
        #expect(access.status == 200 && access.items.compactMap { $0["toolbox_id"] as? String } == [world.toolbox])
        #expect(access.json["total"] as? Int == 1)

        let added = try await api.request("POST", "/api/v1/agents/\(world.agent)/toolbelt", token: ada.token, body: ["instance_id": world.instance, "is_active": false])
        #expect(added.status == 201, "\(ToolbeltAPIWorld.text(added))")
        #expect(Set(added.json.keys) == ["id", "agent_id", "instance_id", "is_active", "created_at", "updated_at"])
        #expect(added.json["is_active"] as? Bool == false && added.string("instance_id") == world.instance)
        let item = try #require(added.string("id"))

        let toggled = try await api.request("PATCH", "/api/v1/toolbelt/\(item)", token: ada.token, body: ["is_active": true])
        #expect(toggled.status == 200 && toggled.json["is_active"] as? Bool == true)
        #expect(try await api.request("GET", "/api/v1/toolbelt/\(item)", token: ada.token).json["is_active"] as? Bool == true)
        #expect(try await api.request("GET", "/api/v1/agents/\(world.agent)/toolbelt?is_active=true", token: ada.token).items.count == 1)
        #expect(try await api.request("GET", "/api/v1/agents/\(world.agent)/toolbelt?is_active=false", token: ada.token).items.isEmpty)
        #expect(try await api.request("GET", "/api/v1/agents/\(world.agent)/toolbelt?instance_id=\(world.instance)", token: ada.token).items.count == 1)

        let allowed = try await api.request("PUT", "/api/v1/toolbelt/\(item)/permissions/gmail_send", token: ada.token, body: ["is_allowed": true])
        #expect(allowed.status == 201, "\(ToolbeltAPIWorld.text(allowed))")
        #expect(Set(allowed.json.keys) == ["id", "toolbelt_item_id", "capability", "is_allowed", "created_at", "updated_at"])
        let denied = try await api.request("PUT", "/api/v1/toolbelt/\(item)/permissions/gmail_send", token: ada.token, body: ["is_allowed": false])
        #expect(denied.status == 200 && denied.json["is_allowed"] as? Bool == false && denied.string("id") == allowed.string("id"))
        _ = try await api.request("PUT", "/api/v1/toolbelt/\(item)/permissions/gmail_read", token: ada.token, body: ["is_allowed": true])
        let permissions = try await api.request("GET", "/api/v1/toolbelt/\(item)/permissions", token: ada.token)
        #expect(permissions.items.compactMap { $0["capability"] as? String } == ["gmail_read", "gmail_send"])
        #expect(try await api.request("GET", "/api/v1/toolbelt/\(item)/permissions?is_allowed=false", token: ada.token).items.count == 1)
        #expect(try await api.request("DELETE", "/api/v1/toolbelt/\(item)/permissions/gmail_read", token: ada.token).status == 204)
        #expect(try await api.request("GET", "/api/v1/toolbelt/\(item)/permissions", token: ada.token).items.count == 1)

        let audit = try await api.request("GET", "/api/v1/audit?limit=200", token: ada.token)
        let actions = Set(audit.items.compactMap { $0["action"] as? String })
        #expect(actions.isSuperset(of: [
            "toolbox_access.grant", "toolbelt_item.add", "toolbelt_item.update", "capability_permission.set", "capability_permission.delete",
        ]))

        #expect(try await api.request("DELETE", "/api/v1/toolbelt/\(item)", token: ada.token).status == 204)
        #expect(try await api.request("GET", "/api/v1/toolbelt/\(item)", token: ada.token).status == 404)
        #expect(try await api.request("GET", "/api/v1/toolbelt/\(item)/permissions", token: ada.token).status == 404)
        try await api.stop()
    }

    @Test func revokingAccessTakesTheAgentsItemsOnThatToolboxWithIt() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let (world, item) = try await ToolbeltAPIWorld.belted(api, token: ada.token, "ada")
        let revoked = try await api.request("DELETE", "/api/v1/agents/\(world.agent)/toolboxes/\(world.toolbox)", token: ada.token)
        #expect(revoked.status == 204)
        #expect(try await api.request("GET", "/api/v1/toolbelt/\(item)", token: ada.token).status == 404)
        #expect(try await api.request("GET", "/api/v1/agents/\(world.agent)/toolboxes", token: ada.token).items.isEmpty)
        let again = try await api.request("DELETE", "/api/v1/agents/\(world.agent)/toolboxes/\(world.toolbox)", token: ada.token)
        #expect(again.status == 404 && again.errorCode == "not_found")
        // Without access the instance cannot join the belt again.
        let refused = try await api.request("POST", "/api/v1/agents/\(world.agent)/toolbelt", token: ada.token, body: ["instance_id": world.instance])
        #expect(refused.status == 422 && refused.errorCode == "unprocessable")
        try await api.stop()
    }

    @Test func badInputGetsTheRightStatusAndCode() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let (world, item) = try await ToolbeltAPIWorld.belted(api, token: ada.token, "ada")
        let other = try await ToolbeltAPIWorld.make(api, token: ada.token, "ada-2")
        let agentToken = try #require(
            try await api.request("POST", "/api/v1/agents/\(world.agent)/tokens", token: ada.token, body: [String: Any]()).json["token"] as? String)
        let missing = UUID().uuidString.lowercased()
        let token = ada.token
        let cases: [(String, String, String?, Any?, Int, String)] = [
            ("POST", "/api/v1/agents/\(world.agent)/toolboxes", token, [String: Any](), 400, "invalid_request"),
            ("POST", "/api/v1/agents/\(world.agent)/toolboxes", token, ["toolbox_id": "nope"], 400, "invalid_request"),
            ("POST", "/api/v1/agents/\(world.agent)/toolboxes", token, ["toolbox_id": 7], 400, "invalid_request"),
            ("POST", "/api/v1/agents/\(world.agent)/toolboxes", token, Data("{".utf8), 400, "invalid_request"),
            ("POST", "/api/v1/agents/\(world.agent)/toolboxes", token, ["toolbox_id": world.toolbox], 409, "conflict"),
            ("POST", "/api/v1/agents/\(world.agent)/toolboxes", token, ["toolbox_id": missing], 404, "not_found"),
            ("POST", "/api/v1/agents/not-a-uuid/toolboxes", token, ["toolbox_id": world.toolbox], 400, "invalid_request"),
            ("POST", "/api/v1/agents/\(missing)/toolboxes", token, ["toolbox_id": world.toolbox], 404, "not_found"),
            ("POST", "/api/v1/agents/\(world.agent)/toolboxes", token, Data(repeating: 0x20, count: 2 << 20), 413, "payload_too_large"),
            ("DELETE", "/api/v1/agents/\(world.agent)/toolboxes/not-a-uuid", token, nil, 400, "invalid_request"),
            ("DELETE", "/api/v1/agents/\(world.agent)/toolboxes/\(missing)", token, nil, 404, "not_found"),
            ("GET", "/api/v1/agents/\(world.agent)/toolboxes?limit=0", token, nil, 400, "invalid_request"),
            ("POST", "/api/v1/agents/\(world.agent)/toolbelt", token, [String: Any](), 400, "invalid_request"),
            ("POST", "/api/v1/agents/\(world.agent)/toolbelt", token, ["instance_id": world.instance, "is_active": "yes"], 400, "invalid_request"),
            ("POST", "/api/v1/agents/\(world.agent)/toolbelt", token, ["instance_id": world.instance], 409, "conflict"),
            ("POST", "/api/v1/agents/\(world.agent)/toolbelt", token, ["instance_id": other.instance], 422, "unprocessable"),
            ("POST", "/api/v1/agents/\(world.agent)/toolbelt", token, ["instance_id": missing], 404, "not_found"),
            ("GET", "/api/v1/agents/\(world.agent)/toolbelt?is_active=maybe", token, nil, 400, "invalid_request"),
            ("GET", "/api/v1/agents/\(world.agent)/toolbelt?instance_id=x", token, nil, 400, "invalid_request"),
            ("GET", "/api/v1/toolbelt/not-a-uuid", token, nil, 400, "invalid_request"),
            ("GET", "/api/v1/toolbelt/\(missing)", token, nil, 404, "not_found"),
            ("PATCH", "/api/v1/toolbelt/\(item)", token, [String: Any](), 400, "invalid_request"),
            ("PATCH", "/api/v1/toolbelt/\(item)", token, ["is_active": 1], 400, "invalid_request"),
            ("PUT", "/api/v1/toolbelt/\(item)/permissions/gmail_send", token, [String: Any](), 400, "invalid_request"),
            ("PUT", "/api/v1/toolbelt/\(item)/permissions/gmail_send", token, ["is_allowed": "true"], 400, "invalid_request"),
            ("PUT", "/api/v1/toolbelt/\(item)/permissions/gmail_delete", token, ["is_allowed": true], 422, "unprocessable"),
            ("PUT", "/api/v1/toolbelt/\(missing)/permissions/gmail_send", token, ["is_allowed": true], 404, "not_found"),
            ("DELETE", "/api/v1/toolbelt/\(item)/permissions/gmail_read", token, nil, 404, "not_found"),
            ("GET", "/api/v1/toolbelt/\(item)/permissions?is_allowed=1", token, nil, 400, "invalid_request"),
            ("GET", "/api/v1/toolbelt/\(item)", nil, nil, 401, "unauthenticated"),
            ("GET", "/api/v1/toolbelt/\(item)", "abx_u_not-a-real-token", nil, 401, "unauthenticated"),
            ("GET", "/api/v1/toolbelt/\(item)", agentToken, nil, 403, "forbidden"),
            ("POST", "/api/v1/agents/\(world.agent)/toolboxes", agentToken, ["toolbox_id": world.toolbox], 403, "forbidden"),
        ]
        for (method, path, token, body, status, code) in cases {
            let reply = try await api.request(method, path, token: token, body: body)
            #expect(reply.status == status, "\(method) \(path): \(ToolbeltAPIWorld.text(reply))")
            #expect(reply.errorCode == code, "\(method) \(path): \(ToolbeltAPIWorld.text(reply))")
        }
        let unknown = try await api.request("PUT", "/api/v1/toolbelt/\(item)/permissions/gmail_delete", token: ada.token, body: ["is_allowed": true])
        let message = try #require((unknown.json["error"] as? [String: Any])?["message"] as? String)
        #expect(message.contains("gmail_delete") && message.contains("gmail_read, gmail_send"), "names the capability and the valid ones")
        let log = try await api.stop()
        #expect(!log.contains("request failed"), "no bad input may cause a 500")
    }

    @Test func anotherUsersAgentItemAndPermissionsAnswer404AndStayUnchanged() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let bob = try await api.createUser("bob")
        let (world, item) = try await ToolbeltAPIWorld.belted(api, token: ada.token, "ada")
        let bobs = try await ToolbeltAPIWorld.make(api, token: bob.token, "bob")
        _ = try await api.request("PUT", "/api/v1/toolbelt/\(item)/permissions/gmail_send", token: ada.token, body: ["is_allowed": true])
        let before = try await api.request("GET", "/api/v1/toolbelt/\(item)", token: ada.token).body
        let permissionsBefore = try await api.request("GET", "/api/v1/toolbelt/\(item)/permissions", token: ada.token).items.count

        let attempts: [(String, String, Any?)] = [
            ("GET", "/api/v1/agents/\(world.agent)/toolboxes", nil),
            ("POST", "/api/v1/agents/\(world.agent)/toolboxes", ["toolbox_id": bobs.toolbox]),
            ("POST", "/api/v1/agents/\(bobs.agent)/toolboxes", ["toolbox_id": world.toolbox]),
            ("DELETE", "/api/v1/agents/\(world.agent)/toolboxes/\(world.toolbox)", nil),
            ("GET", "/api/v1/agents/\(world.agent)/toolbelt", nil),
            ("POST", "/api/v1/agents/\(world.agent)/toolbelt", ["instance_id": world.instance]),
            ("POST", "/api/v1/agents/\(bobs.agent)/toolbelt", ["instance_id": world.instance]),
            ("GET", "/api/v1/toolbelt/\(item)", nil),
            ("PATCH", "/api/v1/toolbelt/\(item)", ["is_active": false]),
            ("DELETE", "/api/v1/toolbelt/\(item)", nil),
            ("GET", "/api/v1/toolbelt/\(item)/permissions", nil),
            ("PUT", "/api/v1/toolbelt/\(item)/permissions/gmail_send", ["is_allowed": false]),
            ("DELETE", "/api/v1/toolbelt/\(item)/permissions/gmail_send", nil),
        ]
        for (method, path, body) in attempts {
            let reply = try await api.request(method, path, token: bob.token, body: body)
            #expect(reply.status == 404, "\(method) \(path): \(ToolbeltAPIWorld.text(reply))")
            #expect(reply.errorCode == "not_found", "\(method) \(path)")
        }
        #expect(try await api.request("GET", "/api/v1/toolbelt/\(item)", token: ada.token).body == before, "the item is unchanged")
        #expect(try await api.request("GET", "/api/v1/toolbelt/\(item)/permissions", token: ada.token).items.count == permissionsBefore)
        #expect(try await api.request("GET", "/api/v1/agents/\(world.agent)/toolboxes", token: ada.token).items.count == 1)
        #expect(try await api.request("GET", "/api/v1/toolbelt/\(item)", token: api.adminToken).status == 200, "an admin sees all")
        try await api.stop()
    }

    @Test func theOpenAPIDocumentDescribesEveryToolbeltRoute() async throws {
        let api = try await TestAPI.start()
        let document = try await api.request("GET", "/api/v1/openapi.json", token: nil)
        let paths = try #require(document.json["paths"] as? [String: [String: Any]])
        let expected: [String: Set<String>] = [
            "/api/v1/agents/{id}/toolboxes": ["post", "get"],
            "/api/v1/agents/{id}/toolboxes/{toolbox_id}": ["delete"],
            "/api/v1/agents/{id}/toolbelt": ["post", "get"],
            "/api/v1/toolbelt/{id}": ["get", "patch", "delete"],
            "/api/v1/toolbelt/{id}/permissions": ["get"],
            "/api/v1/toolbelt/{id}/permissions/{capability}": ["put", "delete"],
        ]
        for (path, methods) in expected {
            let item = try #require(paths[path], "\(path)")
            #expect(Set(item.keys).subtracting(["parameters"]) == methods, "\(path)")
        }
        let schemas = try #require((document.json["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        for name in ["ToolboxAccess", "ToolbeltItem", "CapabilityPermission"] {
            #expect(schemas[name]?["additionalProperties"] as? Bool == false, "\(name)")
        }
        try await api.stop()
    }
}

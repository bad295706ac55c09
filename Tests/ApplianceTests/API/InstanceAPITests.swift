import Foundation
import TestSupport
import Testing

/// Tool instances over HTTP: desired state, config checked against the tool's schema, the state machine's 409s.
struct InstanceAPITests {
    @Test func deployingRecordsAPendingInstanceThatTheOwnerReadsListsChangesAndDeletes() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let tool = try await ToolAPIFixtures.addTool(api)
        let toolbox = try await ToolAPIFixtures.addToolbox(api, token: ada.token)
        let created = try await api.request(
            "POST", "/api/v1/toolboxes/\(toolbox)/instances", token: ada.token, body: ["tool_id": tool, "name": "mail", "config": ["workers": 3]])
        #expect(created.status == 201, "\(ToolAPIFixtures.text(created))")
        let id = try #require(created.string("id"))
        #expect(created.string("status") == "pending_deploy" && created.string("version") == "1.0.0")
        #expect(created.string("toolbox_id") == toolbox && created.string("tool_id") == tool && created.string("name") == "mail")
        #expect((created.json["port_mapping"] as? [String: Any])?["container_port"] as? Int == 8080)
        #expect((created.json["config"] as? [String: Any])?["workers"] as? Int == 3)
        #expect(Set(created.json.keys) == [
            "id", "toolbox_id", "tool_id", "name", "status", "version", "image", "catalog_disabled", "port_mapping", "config", "created_at",
            "updated_at",
        ])
        #expect(created.json["catalog_disabled"] as? Bool == false)

        #expect(try await api.request("GET", "/api/v1/instances/\(id)", token: ada.token).string("name") == "mail")
        let list = try await api.request("GET", "/api/v1/toolboxes/\(toolbox)/instances", token: ada.token)
        #expect(list.status == 200 && list.items.compactMap { $0["id"] as? String } == [id])
        #expect(try await api.request("GET", "/api/v1/toolboxes/\(toolbox)/instances?status=pending_deploy&tool_id=\(tool)&name=mail", token: ada.token).items.count == 1)
        #expect(try await api.request("GET", "/api/v1/toolboxes/\(toolbox)/instances?status=running", token: ada.token).items.isEmpty)

        let changed = try await api.request("PATCH", "/api/v1/instances/\(id)", token: ada.token, body: ["name": "post", "config": NSNull()])
        #expect(changed.status == 200 && changed.string("name") == "post" && changed.json["config"] == nil, "\(ToolAPIFixtures.text(changed))")
        let configured = try await api.request("PATCH", "/api/v1/instances/\(id)", token: ada.token, body: ["config": ["workers": 8]])
        #expect(configured.status == 200 && (configured.json["config"] as? [String: Any])?["workers"] as? Int == 8 && configured.string("name") == "post")

        #expect(try await api.request("DELETE", "/api/v1/instances/\(id)", token: ada.token).status == 204)
        let gone = try await api.request("GET", "/api/v1/instances/\(id)", token: ada.token)
        #expect(gone.status == 404 && gone.errorCode == "not_found")
        let audit = try await api.request("GET", "/api/v1/audit?limit=200", token: ada.token)
        let actions = audit.items.filter { $0["target_id"] as? String == id }.compactMap { $0["action"] as? String }
        #expect(actions.contains("instance.create") && actions.contains("instance.update") && actions.contains("instance.delete"))
        try await api.stop()
    }

    @Test func startStopAndRestartThatTheStateMachineRefusesAnswer409NamingBothStates() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let tool = try await ToolAPIFixtures.addTool(api)
        let toolbox = try await ToolAPIFixtures.addToolbox(api, token: ada.token)
        let id = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: toolbox, tool: tool)
        for (request, goal) in [("stop", "stopped"), ("start", "running"), ("restart", "running")] {
            let reply = try await api.request("POST", "/api/v1/instances/\(id)/\(request)", token: ada.token)
            #expect(reply.status == 409 && reply.errorCode == "invalid_state", "\(request): \(ToolAPIFixtures.text(reply))")
            let message = (reply.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("from pending_deploy to \(goal)"), "\(request): \(message)")
        }
        #expect(try await api.request("GET", "/api/v1/instances/\(id)", token: ada.token).string("status") == "pending_deploy")
        let missing = try await api.request("POST", "/api/v1/instances/\(UUID().uuidString.lowercased())/stop", token: ada.token)
        #expect(missing.status == 404 && missing.errorCode == "not_found")
        try await api.stop()
    }

    @Test func badInstanceInputGetsTheRightStatusAndCode() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let tool = try await ToolAPIFixtures.addTool(api)
        let off = try await ToolAPIFixtures.addTool(api, "slack", enabled: false)
        let toolbox = try await ToolAPIFixtures.addToolbox(api, token: ada.token)
        let existing = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: toolbox, tool: tool, "taken")
        let path = "/api/v1/toolboxes/\(toolbox)/instances"
        let cases: [(String, Any, Int, String, String?)] = [
            ("malformed JSON", Data("{".utf8), 400, "invalid_request", nil),
            ("missing tool_id", ["name": "a"], 400, "invalid_request", "tool_id"),
            ("tool_id not a UUID", ["tool_id": "gmail", "name": "a"], 400, "invalid_request", "tool_id"),
            ("missing name", ["tool_id": tool], 400, "invalid_request", "name"),
            ("uppercase name", ["tool_id": tool, "name": "Mail"], 400, "invalid_request", "name"),
            ("name with a slash", ["tool_id": tool, "name": "a/b"], 400, "invalid_request", "name"),
            ("config not an object", ["tool_id": tool, "name": "a", "config": [1, 2]], 400, "invalid_request", "config"),
            ("config breaking the schema", ["tool_id": tool, "name": "a", "config": ["workers": 9, "colour": "red"]], 422, "unprocessable", "/workers"),
            ("config with an unknown key", ["tool_id": tool, "name": "a", "config": ["colour": "red"]], 422, "unprocessable", "additionalProperties"),
            ("disabled tool", ["tool_id": off, "name": "a"], 422, "unprocessable", nil),
            ("unknown tool", ["tool_id": UUID().uuidString, "name": "a"], 422, "unprocessable", nil),
            ("duplicate name", ["tool_id": tool, "name": "taken"], 409, "conflict", existing),
            ("body too large", Data(repeating: 0x20, count: 2 << 20), 413, "payload_too_large", nil),
        ]
        for (label, body, status, code, mention) in cases {
            let reply = try await api.request("POST", path, token: ada.token, body: body)
            #expect(reply.status == status, "\(label): \(ToolAPIFixtures.text(reply))")
            #expect(reply.errorCode == code, "\(label)")
            if let mention {
                let message = (reply.json["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains(mention), "\(label): \(message)")
            }
        }
        let patch = try await api.request("PATCH", "/api/v1/instances/\(existing)", token: ada.token, body: ["config": ["workers": 0]])
        #expect(patch.status == 422 && patch.errorCode == "unprocessable")
        let rename = try await api.request("PATCH", "/api/v1/instances/\(existing)", token: ada.token, body: ["name": "no spaces"])
        #expect(rename.status == 400 && rename.errorCode == "invalid_request")
        let nullName = try await api.request("PATCH", "/api/v1/instances/\(existing)", token: ada.token, body: ["name": NSNull()])
        #expect(nullName.status == 400 && nullName.errorCode == "invalid_request")
        let filter = try await api.request("GET", "\(path)?status=sleeping", token: ada.token)
        #expect(filter.status == 400 && filter.errorCode == "invalid_request")
        let filterTool = try await api.request("GET", "\(path)?tool_id=gmail", token: ada.token)
        #expect(filterTool.status == 400 && filterTool.errorCode == "invalid_request")
        #expect(try await api.request("GET", path, token: ada.token).items.count == 1, "nothing bad was saved")
        let log = try await api.stop()
        #expect(!log.contains("request failed"), "no bad input may cause a 500")
    }

    @Test func anotherUsersInstanceIsNotFoundOnEveryRouteAndStaysUnchanged() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let bob = try await api.createUser("bob")
        let tool = try await ToolAPIFixtures.addTool(api)
        let toolbox = try await ToolAPIFixtures.addToolbox(api, token: ada.token)
        let id = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: toolbox, tool: tool)
        let attempts: [(String, String, [String: Any]?)] = [
            ("GET", "/api/v1/instances/\(id)", nil), ("PATCH", "/api/v1/instances/\(id)", ["name": "stolen"]),
            ("DELETE", "/api/v1/instances/\(id)", nil), ("POST", "/api/v1/instances/\(id)/start", nil),
            ("POST", "/api/v1/instances/\(id)/stop", nil), ("POST", "/api/v1/instances/\(id)/restart", nil),
            ("GET", "/api/v1/toolboxes/\(toolbox)/instances", nil),
            ("POST", "/api/v1/toolboxes/\(toolbox)/instances", ["tool_id": tool, "name": "intruder"]),
        ]
        for (method, path, body) in attempts {
            let reply = try await api.request(method, path, token: bob.token, body: body)
            #expect(reply.status == 404 && reply.errorCode == "not_found", "\(method) \(path): \(ToolAPIFixtures.text(reply))")
        }
        let after = try await api.request("GET", "/api/v1/instances/\(id)", token: ada.token)
        #expect(after.string("name") == "mail" && after.string("status") == "pending_deploy", "the row is unchanged")
        #expect(try await api.request("GET", "/api/v1/toolboxes/\(toolbox)/instances", token: ada.token).items.count == 1)
        #expect(try await api.request("GET", "/api/v1/instances/\(id)", token: api.adminToken).status == 200, "an admin sees all")
        try await api.stop()
    }
}

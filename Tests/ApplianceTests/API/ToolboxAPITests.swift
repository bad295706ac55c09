import Foundation
import TestSupport
import Testing

/// Toolboxes over HTTP: owned by their creator, local only for now, deprovisioned to `archived`.
struct ToolboxAPITests {
    @Test func aUserCreatesReadsListsAndRenamesALocalToolboxWhoseTokenIsNeverShown() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let created = try await api.request("POST", "/api/v1/toolboxes", token: ada.token, body: ["name": "home", "provider": "local"])
        #expect(created.status == 201)
        let id = try #require(created.string("id"))
        #expect(created.string("status") == "active" && created.string("reachability") == "unknown" && created.string("provider") == "local")
        #expect(created.string("user_id") == ada.id)
        #expect(Set(created.json.keys) == ["id", "user_id", "name", "provider", "status", "reachability", "created_at", "updated_at"])
        #expect(!String(decoding: created.body, as: UTF8.self).contains("abx_"), "the toolbox token is not shown")

        let implicit = try await api.request("POST", "/api/v1/toolboxes", token: ada.token, body: ["name": "second"])
        #expect(implicit.status == 201 && implicit.string("provider") == "local", "provider defaults to local")

        #expect(try await api.request("GET", "/api/v1/toolboxes/\(id)", token: ada.token).string("name") == "home")
        let list = try await api.request("GET", "/api/v1/toolboxes", token: ada.token)
        #expect(list.status == 200 && list.items.count == 2 && list.json["total"] as? Int == 2)
        #expect(try await api.request("GET", "/api/v1/toolboxes?name=home", token: ada.token).items.count == 1)
        #expect(try await api.request("GET", "/api/v1/toolboxes?status=active&provider=local", token: ada.token).items.count == 2)
        #expect(try await api.request("GET", "/api/v1/toolboxes?provider=digitalocean", token: ada.token).items.isEmpty)

        let renamed = try await api.request("PATCH", "/api/v1/toolboxes/\(id)", token: ada.token, body: ["name": "lab"])
        #expect(renamed.status == 200 && renamed.string("name") == "lab" && renamed.string("status") == "active")
        // The toolbox token exists, of kind toolbox, for the toolbox's host agent.
        let tokens = try await api.request("GET", "/api/v1/tokens", token: api.adminToken)
        #expect(tokens.items.contains { $0["kind"] as? String == "toolbox" && $0["toolbox_id"] as? String == id })
        try await api.stop()
    }

    @Test func badToolboxInputGetsTheRightStatusAndCode() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let cases: [(String, String, Any?, Int, String)] = [
            ("POST", "/api/v1/toolboxes", ["name": "cloud", "provider": "digitalocean"], 400, "invalid_request"),
            ("POST", "/api/v1/toolboxes", ["name": "cloud", "provider": "aws"], 400, "invalid_request"),
            ("POST", "/api/v1/toolboxes", ["provider": "local"], 400, "invalid_request"),
            ("POST", "/api/v1/toolboxes", ["name": ""], 400, "invalid_request"),
            ("POST", "/api/v1/toolboxes", ["name": 7], 400, "invalid_request"),
            ("POST", "/api/v1/toolboxes", Data("nope".utf8), 400, "invalid_request"),
            ("POST", "/api/v1/toolboxes", Data(repeating: 0x20, count: 2 << 20), 413, "payload_too_large"),
            ("GET", "/api/v1/toolboxes?status=running", nil, 400, "invalid_request"),
            ("GET", "/api/v1/toolboxes?provider=aws", nil, 400, "invalid_request"),
            ("GET", "/api/v1/toolboxes?user_id=me", nil, 400, "invalid_request"),
            ("GET", "/api/v1/toolboxes/not-a-uuid", nil, 400, "invalid_request"),
            ("DELETE", "/api/v1/toolboxes/\(UUID().uuidString.lowercased())?cascade=maybe", nil, 400, "invalid_request"),
            ("DELETE", "/api/v1/toolboxes/\(UUID().uuidString.lowercased())", nil, 404, "not_found"),
        ]
        for (method, path, body, status, code) in cases {
            let reply = try await api.request(method, path, token: ada.token, body: body)
            #expect(reply.status == status, "\(method) \(path): \(ToolAPIFixtures.text(reply))")
            #expect(reply.errorCode == code, "\(method) \(path)")
        }
        let id = try await ToolAPIFixtures.addToolbox(api, token: ada.token)
        for body in [["name": NSNull()], ["name": String(repeating: "x", count: 101)], ["name": "\u{7}bell"]] as [[String: Any]] {
            let reply = try await api.request("PATCH", "/api/v1/toolboxes/\(id)", token: ada.token, body: body)
            #expect(reply.status == 400 && reply.errorCode == "invalid_request", "PATCH \(body): \(ToolAPIFixtures.text(reply))")
        }
        #expect(try await api.request("GET", "/api/v1/toolboxes/\(id)", token: ada.token).string("name") == "home")
        #expect(try await api.request("DELETE", "/api/v1/toolboxes/\(id)", token: ada.token).status == 200)
        let remote = try await api.request("POST", "/api/v1/toolboxes", token: ada.token, body: ["name": "cloud", "provider": "digitalocean"])
        #expect(((remote.json["error"] as? [String: Any])?["message"] as? String)?.contains("needs a region and a size") == true)
        #expect(try await api.request("GET", "/api/v1/toolboxes", token: ada.token).items.compactMap { $0["id"] as? String } == [id], "nothing bad was created")
        let anonymous = try await api.request("POST", "/api/v1/toolboxes", token: nil, body: ["name": "x"])
        #expect(anonymous.status == 401 && anonymous.errorCode == "unauthenticated")
        let log = try await api.stop()
        #expect(!log.contains("request failed"), "no bad input may cause a 500")
    }

    @Test func anotherUsersToolboxIsNotFoundAndStaysUnchanged() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let bob = try await api.createUser("bob")
        let id = try await ToolAPIFixtures.addToolbox(api, token: ada.token)
        let missing = "/api/v1/toolboxes/\(UUID().uuidString.lowercased())"
        for (method, path, body) in [
            ("GET", "/api/v1/toolboxes/\(id)", nil), ("PATCH", "/api/v1/toolboxes/\(id)", ["name": "stolen"]),
            ("DELETE", "/api/v1/toolboxes/\(id)?cascade=true", nil), ("GET", "/api/v1/toolboxes/\(id)/instances", nil),
            ("GET", missing, nil),
        ] as [(String, String, [String: Any]?)] {
            let reply = try await api.request(method, path, token: bob.token, body: body)
            #expect(reply.status == 404 && reply.errorCode == "not_found", "\(method) \(path)")
        }
        #expect(try await api.request("GET", "/api/v1/toolboxes", token: bob.token).items.isEmpty)
        #expect(try await api.request("GET", "/api/v1/toolboxes?user_id=\(ada.id)", token: bob.token).items.isEmpty)
        let after = try await api.request("GET", "/api/v1/toolboxes/\(id)", token: ada.token)
        #expect(after.string("name") == "home" && after.string("status") == "active", "the row is unchanged")
        #expect(try await api.request("GET", "/api/v1/toolboxes/\(id)", token: api.adminToken).status == 200, "an admin sees all")
        #expect(try await api.request("GET", "/api/v1/toolboxes?user_id=\(ada.id)", token: api.adminToken).items.count == 1)

        // An agent's token is for tool calls, not for managing toolboxes.
        let agent = try await api.request("POST", "/api/v1/agents", token: ada.token, body: ["name": "helper"])
        let agentID = try #require(agent.string("id"))
        let issued = try await api.request("POST", "/api/v1/agents/\(agentID)/tokens", token: ada.token, body: [:] as [String: Any])
        let agentToken = try #require(issued.string("token"))
        let refused = try await api.request("GET", "/api/v1/toolboxes/\(id)", token: agentToken)
        #expect(refused.status == 403 && refused.errorCode == "forbidden")
        try await api.stop()
    }

    @Test func deprovisioningIsRefusedWhileInstancesExistUnlessCascadedThenTheToolboxIsArchived() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let tool = try await ToolAPIFixtures.addTool(api)
        let toolbox = try await ToolAPIFixtures.addToolbox(api, token: ada.token)
        let one = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: toolbox, tool: tool, "one")
        let two = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: toolbox, tool: tool, "two")

        let refused = try await api.request("DELETE", "/api/v1/toolboxes/\(toolbox)", token: ada.token)
        #expect(refused.status == 409 && refused.errorCode == "conflict")
        let message = (refused.json["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("one (\(one))") && message.contains("two (\(two))"), "\(message)")
        #expect(try await api.request("GET", "/api/v1/toolboxes/\(toolbox)", token: ada.token).string("status") == "active")

        let archived = try await api.request("DELETE", "/api/v1/toolboxes/\(toolbox)?cascade=true", token: ada.token)
        #expect(archived.status == 200 && archived.string("status") == "archived", "\(ToolAPIFixtures.text(archived))")
        for instance in [one, two] {
            #expect(try await api.request("GET", "/api/v1/instances/\(instance)", token: ada.token).status == 404)
        }
        let read = try await api.request("GET", "/api/v1/toolboxes/\(toolbox)", token: ada.token)
        #expect(read.status == 200 && read.string("status") == "archived", "an archived toolbox stays readable")
        #expect(try await api.request("GET", "/api/v1/toolboxes?status=archived", token: ada.token).items.count == 1)

        let deploy = try await api.request("POST", "/api/v1/toolboxes/\(toolbox)/instances", token: ada.token, body: ["tool_id": tool, "name": "late"])
        #expect(deploy.status == 409 && deploy.errorCode == "invalid_state")
        let again = try await api.request("DELETE", "/api/v1/toolboxes/\(toolbox)", token: ada.token)
        #expect(again.status == 409 && again.errorCode == "invalid_state")
        #expect(((again.json["error"] as? [String: Any])?["message"] as? String)?.contains("from archived to pending_deprovision") == true)
        // With its instances gone, the tool can leave the catalog.
        #expect(try await api.request("DELETE", "/api/v1/catalog/\(tool)", token: api.adminToken).status == 204)
        try await api.stop()
    }
}

import Foundation
import TestSupport
import Testing

/// Users and agents over the API, with per-user isolation and the error shape.
struct AgentAPITests {
    @Test func usersSeeOnlyTheirOwnAgentsAndAnotherUsersAgentIsNotFound() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let bob = try await api.createUser("bob")
        let created = try await api.request("POST", "/api/v1/agents", token: ada.token, body: ["name": "researcher", "description": "reads"])
        #expect(created.status == 201)
        let id = try #require(created.string("id"))

        #expect(try await api.request("GET", "/api/v1/agents", token: bob.token).items.isEmpty)
        #expect(try await api.request("GET", "/api/v1/agents", token: ada.token).items.count == 1)
        #expect(try await api.request("GET", "/api/v1/agents", token: api.adminToken).items.count == 1, "an admin sees all")

        let missing = try await api.request("GET", "/api/v1/agents/\(UUID().uuidString.lowercased())", token: bob.token)
        for (method, body) in [("GET", nil), ("PATCH", ["name": "stolen"]), ("DELETE", nil)] as [(String, [String: String]?)] {
            let reply = try await api.request(method, "/api/v1/agents/\(id)", token: bob.token, body: body)
            #expect(reply.status == 404, "\(method) of another user's agent")
            #expect(reply.errorCode == missing.errorCode)
        }
        let after = try await api.request("GET", "/api/v1/agents/\(id)", token: ada.token)
        #expect(after.string("name") == "researcher", "the row is unchanged")
        try await api.stop()
    }

    @Test func onlyAdminsManageUsers() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let refused = try await api.request("POST", "/api/v1/users", token: ada.token, body: ["name": "eve"])
        #expect(refused.status == 403)
        #expect(try await api.request("GET", "/api/v1/users", token: ada.token).status == 403)
        #expect(try await api.request("GET", "/api/v1/users/\(ada.id)", token: ada.token).status == 200, "a user reads itself")
        let duplicate = try await api.request("POST", "/api/v1/users", token: api.adminToken, body: ["name": "ada"])
        #expect(duplicate.status == 409)
        #expect(duplicate.errorCode == "conflict")
        try await api.stop()
    }

    @Test func badInputGetsTheRightStatusAndCode() async throws {
        let api = try await TestAPI.start()
        let token = api.adminToken
        let cases: [(String, String, Any?, Int, String)] = [
            ("POST", "/api/v1/agents", Data("{not json".utf8), 400, "invalid_request"),
            ("POST", "/api/v1/agents", Data("[1, 2]".utf8), 400, "invalid_request"),
            ("POST", "/api/v1/agents", ["name": 42], 400, "invalid_request"),
            ("POST", "/api/v1/agents", ["description": "no name"], 400, "invalid_request"),
            ("POST", "/api/v1/agents", ["name": "   "], 400, "invalid_request"),
            ("POST", "/api/v1/agents", ["name": String(repeating: "x", count: 101)], 400, "invalid_request"),
            ("GET", "/api/v1/agents/not-a-uuid", nil, 400, "invalid_request"),
            ("GET", "/api/v1/agents?limit=0", nil, 400, "invalid_request"),
            ("GET", "/api/v1/agents?offset=-1", nil, 400, "invalid_request"),
            ("GET", "/api/v1/nowhere", nil, 404, "not_found"),
            ("POST", "/api/v1/agents", Data(repeating: 0x20, count: 2 << 20), 413, "payload_too_large"),
        ]
        for (method, path, body, status, code) in cases {
            let reply = try await api.request(method, path, token: token, body: body)
            #expect(reply.status == status, "\(method) \(path)")
            #expect(reply.errorCode == code, "\(method) \(path): \(String(decoding: reply.body.prefix(300), as: UTF8.self))")
            #expect(reply.json["error"] != nil)
        }
        _ = try await api.request("POST", "/api/v1/agents", token: token, body: ["name": "twin"])
        let twin = try await api.request("POST", "/api/v1/agents", token: token, body: ["name": "twin"])
        #expect(twin.status == 409)
        #expect(twin.errorCode == "conflict")
        let log = try await api.stop()
        #expect(!log.contains("request failed"), "no bad input may cause a 500")
    }
}

import Foundation
import TestSupport
import Testing

/// Credentials over HTTP: checked, sealed, shown back only masked, moved by the status machine, and never leaked.
struct CredentialAPITests {
    @Test func aCredentialIsShownOnlyAsItsMaskedFactsAndSupersedesTheItemsEarlierOne() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let (_, item) = try await ToolbeltAPIWorld.belted(api, token: ada.token, "ada")
        let created = try await api.request(
            "POST", "/api/v1/toolbelt/\(item)/credentials", token: ada.token,
            body: ["credential_type": "api_key", "credentials": ["api_key": "first-secret-value"], "account_identifier": "user@gmail.com"])
        #expect(created.status == 201, "\(ToolbeltAPIWorld.text(created))")
        #expect(Set(created.json.keys) == ["id", "toolbelt_item_id", "credential_type", "account_identifier", "status", "created_at", "updated_at"])
        #expect(created.string("account_identifier") == "user@gm***.com" && created.string("status") == "active")
        #expect(created.string("toolbelt_item_id") == item && created.string("credential_type") == "api_key")
        let first = try #require(created.string("id"))

        let second = try await api.request(
            "POST", "/api/v1/toolbelt/\(item)/credentials", token: ada.token, body: ["credential_type": "api_key", "credentials": ["api_key": "second-secret-value"]])
        #expect(second.status == 201 && second.json["account_identifier"] == nil, "no identifier is derived from the secret")
        #expect(try await api.request("GET", "/api/v1/credentials/\(first)", token: ada.token).string("status") == "revoked")
        let list = try await api.request("GET", "/api/v1/toolbelt/\(item)/credentials", token: ada.token)
        #expect(list.status == 200 && list.items.compactMap { $0["status"] as? String } == ["revoked", "active"])
        #expect(try await api.request("GET", "/api/v1/toolbelt/\(item)/credentials?status=active", token: ada.token).items.count == 1)

        let id = try #require(second.string("id"))
        for status in ["requires_reauth", "active", "error", "active", "revoked"] {
            let moved = try await api.request("PATCH", "/api/v1/credentials/\(id)", token: ada.token, body: ["status": status])
            #expect(moved.status == 200 && moved.string("status") == status, "\(ToolbeltAPIWorld.text(moved))")
        }
        let final = try await api.request("PATCH", "/api/v1/credentials/\(id)", token: ada.token, body: ["status": "active"])
        #expect(final.status == 409 && final.errorCode == "invalid_state")
        let message = try #require((final.json["error"] as? [String: Any])?["message"] as? String)
        #expect(message.contains("revoked") && message.contains("active"), "names both states")

        #expect(try await api.request("DELETE", "/api/v1/credentials/\(id)", token: ada.token).status == 204)
        #expect(try await api.request("GET", "/api/v1/credentials/\(id)", token: ada.token).status == 404)
        let audit = try await api.request("GET", "/api/v1/audit?limit=200", token: ada.token)
        let actions = Set(audit.items.compactMap { $0["action"] as? String })
        #expect(actions.isSuperset(of: ["credential.create", "credential.revoke", "credential.status", "credential.delete"]))
        try await api.stop()
    }

    @Test func aCanarySecretAppearsInNoResponseNoLogLineAndNotInTheDatabaseFile() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let (_, item) = try await ToolbeltAPIWorld.belted(api, token: ada.token, "ada")
        let canary = "canary-\(UUID().uuidString)-\(UUID().uuidString)"
        var replies: [TestAPI.Reply] = []

        let created = try await api.request(
            "POST", "/api/v1/toolbelt/\(item)/credentials", token: ada.token,
            body: ["credential_type": "api_key", "credentials": ["api_key": canary, "account": "ada@example.com"], "account_identifier": "ada@example.com"])
        #expect(created.status == 201, "\(ToolbeltAPIWorld.text(created))")
        replies.append(created)
        let id = try #require(created.string("id"))
        // Refusals that carry the canary must not echo it either.
        replies.append(
            try await api.request(
                "POST", "/api/v1/toolbelt/\(item)/credentials", token: ada.token,
                body: ["credential_type": "api_key", "credentials": ["api_key": canary, "extra": canary, "account": canary]]))
        #expect(replies.last?.status == 422 && replies.last?.errorCode == "unprocessable")
        replies.append(
            try await api.request(
                "POST", "/api/v1/toolbelt/\(item)/credentials", token: ada.token,
                body: Data(#"{"credential_type": "api_key", "credentials": {"api_key": "\#(canary)", "api_key": "\#(canary)"}}"#.utf8)))
        #expect(replies.last?.status == 400 && replies.last?.errorCode == "invalid_request", "duplicate keys are refused")
        replies.append(
            try await api.request("POST", "/api/v1/toolbelt/\(item)/credentials", token: ada.token, body: Data(#"{"credentials": {"api_key": "\#(canary)"#.utf8)))
        #expect(replies.last?.status == 400)
        replies.append(try await api.request("GET", "/api/v1/credentials/\(id)", token: ada.token))
        replies.append(try await api.request("GET", "/api/v1/toolbelt/\(item)/credentials", token: ada.token))
        replies.append(try await api.request("PATCH", "/api/v1/credentials/\(id)", token: ada.token, body: ["status": "requires_reauth"]))
        replies.append(try await api.request("GET", "/api/v1/audit?limit=200", token: ada.token))
        replies.append(try await api.request("GET", "/api/v1/audit?limit=200", token: api.adminToken))
        replies.append(try await api.request("GET", "/api/v1/toolbelt/\(item)", token: ada.token))
        #expect(replies.allSatisfy { $0.status < 500 })
        for reply in replies {
            #expect(!String(decoding: reply.body, as: UTF8.self).contains(canary), "\(ToolbeltAPIWorld.text(reply))")
        }

        let database = api.folder.appending("data/agentbox.sqlite")
        func databaseBytesContainCanary() -> Bool {
            [database, database + "-wal"].contains { path in
                guard let bytes = FileManager.default.contents(atPath: path) else { return false }
                return bytes.range(of: Data(canary.utf8)) != nil
            }
        }
        #expect(FileManager.default.fileExists(atPath: database))
        #expect(!databaseBytesContainCanary(), "while the server runs")
        let log = try await api.stop()
        #expect(!log.contains(canary), "no log line holds the secret")
        #expect(!databaseBytesContainCanary(), "after the server stopped")
    }

    @Test func badInputGetsTheRightStatusAndCode() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let (world, item) = try await ToolbeltAPIWorld.belted(api, token: ada.token, "ada")
        let path = "/api/v1/toolbelt/\(item)/credentials"
        let valid: [String: Any] = ["api_key": "long-enough-key"]
        let credential = try await ToolbeltAPIWorld.created(api, "POST", path, token: ada.token, body: ["credential_type": "api_key", "credentials": valid])
        let missing = UUID().uuidString.lowercased()
        let cases: [(String, String, Any?, Int, String)] = [
            ("POST", path, Data("{not json".utf8), 400, "invalid_request"),
            ("POST", path, Data("[1]".utf8), 400, "invalid_request"),
            ("POST", path, ["credentials": valid], 400, "invalid_request"),
            ("POST", path, ["credential_type": "api_key"], 400, "invalid_request"),
            ("POST", path, ["credential_type": 5, "credentials": valid], 400, "invalid_request"),
            ("POST", path, ["credential_type": "API KEY", "credentials": valid], 400, "invalid_request"),
            ("POST", path, ["credential_type": "api_key", "credentials": "long-enough-key"], 400, "invalid_request"),
            ("POST", path, ["credential_type": "api_key", "credentials": ["long-enough-key"]], 400, "invalid_request"),
            ("POST", path, ["credential_type": "api_key", "credentials": valid, "account_identifier": 3], 400, "invalid_request"),
            ("POST", path, ["credential_type": "api_key", "credentials": valid, "account_identifier": String(repeating: "a", count: 300)], 400, "invalid_request"),
            ("POST", path, ["credential_type": "api_key", "credentials": ["api_key": "short"]], 422, "unprocessable"),
            ("POST", path, ["credential_type": "api_key", "credentials": [String: Any]()], 422, "unprocessable"),
            ("POST", path, Data(repeating: 0x20, count: 2 << 20), 413, "payload_too_large"),
            ("POST", "/api/v1/toolbelt/\(missing)/credentials", ["credential_type": "api_key", "credentials": valid], 404, "not_found"),
            ("POST", "/api/v1/toolbelt/nope/credentials", ["credential_type": "api_key", "credentials": valid], 400, "invalid_request"),
            ("GET", "\(path)?status=sleeping", nil, 400, "invalid_request"),
            ("GET", "/api/v1/credentials/nope", nil, 400, "invalid_request"),
            ("GET", "/api/v1/credentials/\(missing)", nil, 404, "not_found"),
            ("PATCH", "/api/v1/credentials/\(credential)", [String: Any](), 400, "invalid_request"),
            ("PATCH", "/api/v1/credentials/\(credential)", ["status": "asleep"], 400, "invalid_request"),
            ("PATCH", "/api/v1/credentials/\(credential)", ["status": 1], 400, "invalid_request"),
            ("DELETE", "/api/v1/credentials/\(missing)", nil, 404, "not_found"),
        ]
        for (method, path, body, status, code) in cases {
            let reply = try await api.request(method, path, token: ada.token, body: body)
            #expect(reply.status == status, "\(method) \(path): \(ToolbeltAPIWorld.text(reply))")
            #expect(reply.errorCode == code, "\(method) \(path): \(ToolbeltAPIWorld.text(reply))")
        }
        let violation = try await api.request(
            "POST", path, token: ada.token, body: ["credential_type": "api_key", "credentials": ["api_key": "short", "account": "not-an-email"]])
        let message = try #require((violation.json["error"] as? [String: Any])?["message"] as? String)
        #expect(message.contains("/api_key") && message.contains("/account"), "violations are listed by pointer: \(message)")
        #expect(!message.contains("short") && !message.contains("not-an-email"), "values are never echoed")
        #expect(try await api.request("GET", "\(path)?status=active", token: ada.token).items.compactMap { $0["id"] as? String } == [credential])

        let issued = try await api.request("POST", "/api/v1/agents/\(world.agent)/tokens", token: ada.token, body: [String: Any]())
        let agentToken = try #require(issued.json["token"] as? String)
        let forbidden = try await api.request("GET", "/api/v1/credentials/\(credential)", token: agentToken)
        #expect(forbidden.status == 403 && forbidden.errorCode == "forbidden")
        let anonymous = try await api.request("GET", "/api/v1/credentials/\(credential)", token: nil)
        #expect(anonymous.status == 401 && anonymous.errorCode == "unauthenticated")
        let log = try await api.stop()
        #expect(!log.contains("request failed"), "no bad input may cause a 500")
    }

    @Test func anotherUsersCredentialAnswers404AndStaysUnchanged() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let bob = try await api.createUser("bob")
        let (_, item) = try await ToolbeltAPIWorld.belted(api, token: ada.token, "ada")
        let credential = try await ToolbeltAPIWorld.created(
            api, "POST", "/api/v1/toolbelt/\(item)/credentials", token: ada.token,
            body: ["credential_type": "api_key", "credentials": ["api_key": "long-enough-key"], "account_identifier": "ada@example.com"])
        let before = try await api.request("GET", "/api/v1/credentials/\(credential)", token: ada.token).body
        let attempts: [(String, String, Any?)] = [
            ("GET", "/api/v1/credentials/\(credential)", nil),
            ("PATCH", "/api/v1/credentials/\(credential)", ["status": "revoked"]),
            ("DELETE", "/api/v1/credentials/\(credential)", nil),
            ("GET", "/api/v1/toolbelt/\(item)/credentials", nil),
            ("POST", "/api/v1/toolbelt/\(item)/credentials", ["credential_type": "api_key", "credentials": ["api_key": "stolen-key-value"]]),
        ]
        for (method, path, body) in attempts {
            let reply = try await api.request(method, path, token: bob.token, body: body)
            #expect(reply.status == 404 && reply.errorCode == "not_found", "\(method) \(path): \(ToolbeltAPIWorld.text(reply))")
        }
        #expect(try await api.request("GET", "/api/v1/credentials/\(credential)", token: ada.token).body == before, "the credential is unchanged")
        #expect(try await api.request("GET", "/api/v1/toolbelt/\(item)/credentials", token: ada.token).items.count == 1)
        #expect(try await api.request("GET", "/api/v1/credentials/\(credential)", token: api.adminToken).status == 200, "an admin sees all")
        try await api.stop()
    }

    @Test func theOpenAPIDocumentDescribesEveryCredentialRoute() async throws {
        let api = try await TestAPI.start()
        let document = try await api.request("GET", "/api/v1/openapi.json", token: nil)
        let paths = try #require(document.json["paths"] as? [String: [String: Any]])
        #expect(Set(try #require(paths["/api/v1/toolbelt/{id}/credentials"]).keys).subtracting(["parameters"]) == ["post", "get"])
        #expect(Set(try #require(paths["/api/v1/credentials/{id}"]).keys).subtracting(["parameters"]) == ["get", "patch", "delete"])
        let schemas = try #require((document.json["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        let credential = try #require(schemas["Credential"])
        #expect(credential["additionalProperties"] as? Bool == false)
        let properties = try #require(credential["properties"] as? [String: Any])
        #expect(properties["credentials"] == nil && properties["encrypted_credentials"] == nil, "the secret is never part of a response")
        try await api.stop()
    }
}

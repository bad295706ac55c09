import Foundation
import Services
import TestSupport
import Testing

@testable import Appliance

/// Row-level security, proven route by route: a second user calling every route that takes an id,
/// with ids of the first user's rows, gets 404 (403 on admin-only routes) and changes nothing.
///
/// The routes come from `HTTPServer.endpoints`, so a new route cannot escape: a path parameter
/// with no fixture fails the test.
struct IsolationMatrixTests {
    /// Ada's rows, made through the API, by the path parameter that names each.
    private struct Fixture {
        var ids: [String: String] = [:]
        /// Where Ada reads each row back, to prove it unchanged.
        var readBack: [String] = []
    }

    private func makeFixture(_ api: TestAPI, ada: String) async throws -> Fixture {
        func post(_ path: String, _ token: String, _ body: [String: Any], method: String = "POST") async throws -> [String: Any] {
            let reply = try await api.request(method, path, token: token, body: body)
            #expect((200..<300).contains(reply.status), "\(method) \(path): \(String(decoding: reply.body, as: UTF8.self))")
            return reply.json
        }
        var fixture = Fixture()
        let tool = try await post(
            "/api/v1/catalog", api.adminToken,
            [
                "name": "mailer", "description": "Sends mail", "docker_image_url": "127.0.0.1:5000/tools/mailer:1.0.0",
                "version": "1.0.0", "container_port": 8080, "is_enabled": true,
                "default_config_json_schema": ["type": "object"],
                "required_capabilities_schema": ["send": "Send mail"],
                "required_secrets_schema": ["type": "object", "required": ["api_key"], "properties": ["api_key": ["type": "string"]]],
            ])
        fixture.ids["catalog"] = tool["id"] as? String
        let agent = try await post("/api/v1/agents", ada, ["name": "ada-agent"])
        fixture.ids["agents"] = agent["id"] as? String
        let agentToken = try await post("/api/v1/agents/\(fixture.ids["agents"]!)/tokens", ada, ["name": "agent token"])
        fixture.ids["tokens"] = (agentToken["info"] as? [String: Any])?["id"] as? String
        let toolbox = try await post("/api/v1/toolboxes", ada, ["name": "ada-box", "provider": "local"])
        fixture.ids["toolboxes"] = toolbox["id"] as? String
        let instance = try await post("/api/v1/toolboxes/\(fixture.ids["toolboxes"]!)/instances", ada, ["tool_id": fixture.ids["catalog"]!, "name": "mailer-1"])
        fixture.ids["instances"] = instance["id"] as? String
        _ = try await post("/api/v1/agents/\(fixture.ids["agents"]!)/toolboxes", ada, ["toolbox_id": fixture.ids["toolboxes"]!])
        let item = try await post("/api/v1/agents/\(fixture.ids["agents"]!)/toolbelt", ada, ["instance_id": fixture.ids["instances"]!])
        fixture.ids["toolbelt"] = item["id"] as? String
        _ = try await post("/api/v1/toolbelt/\(fixture.ids["toolbelt"]!)/permissions/send", ada, ["is_allowed": true], method: "PUT")
        let credential = try await post(
            "/api/v1/toolbelt/\(fixture.ids["toolbelt"]!)/credentials", ada,
            ["credential_type": "api_key", "credentials": ["api_key": "ada-secret"], "account_identifier": "ada@example.com"])
        fixture.ids["credentials"] = credential["id"] as? String
        fixture.ids["toolbox_id"] = fixture.ids["toolboxes"]
        fixture.ids["capability"] = "send"
        fixture.readBack = [
            "/api/v1/agents/\(fixture.ids["agents"]!)", "/api/v1/toolboxes/\(fixture.ids["toolboxes"]!)",
            "/api/v1/instances/\(fixture.ids["instances"]!)", "/api/v1/toolbelt/\(fixture.ids["toolbelt"]!)",
            "/api/v1/toolbelt/\(fixture.ids["toolbelt"]!)/permissions", "/api/v1/credentials/\(fixture.ids["credentials"]!)",
            "/api/v1/agents/\(fixture.ids["agents"]!)/toolboxes", "/api/v1/agents/\(fixture.ids["agents"]!)/toolbelt",
            "/api/v1/toolbelt/\(fixture.ids["toolbelt"]!)/credentials", "/api/v1/tokens",
        ]
        return fixture
    }

    /// The path with every parameter replaced by Ada's row, or nil with the parameter that has no fixture.
    private func concrete(_ path: String, _ fixture: Fixture) -> (path: String?, missing: String?) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var result: [String] = []
        for (index, segment) in segments.enumerated() {
            guard segment.hasPrefix("{") else {
                result.append(segment)
                continue
            }
            let name = String(segment.dropFirst().dropLast())
            let key = name == "id" ? segments[index - 1] : name
            guard let value = fixture.ids[key] else { return (nil, "\(segment) after \(segments[index - 1])") }
            result.append(value)
        }
        return (result.joined(separator: "/"), nil)
    }

    /// Routes that only an admin may call answer 403 to everyone else.
    private func isAdminOnly(_ method: String, _ path: String) -> Bool {
        (path.hasPrefix("/api/v1/catalog") && method != "GET") || (path.hasPrefix("/api/v1/users") && method != "GET")
            || path.hasPrefix("/api/v1/registries")
    }

    /// A snapshot of Ada's rows as Ada reads them (times of use left out).
    private func snapshot(_ api: TestAPI, ada: String, _ fixture: Fixture) async throws -> [String: String] {
        var rows: [String: String] = [:]
        for path in fixture.readBack {
            let reply = try await api.request("GET", path, token: ada)
            #expect(reply.status == 200, "Ada reads \(path)")
            rows[path] = String(decoding: reply.body, as: UTF8.self)
                .replacingOccurrences(of: #""last_used_at":"[^"]*","#, with: "", options: .regularExpression)
        }
        return rows
    }

    @Test func anotherUserGetsNotFoundOnEveryRouteWithAnIDAndChangesNothing() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let bob = try await api.createUser("bob")
        let fixture = try await makeFixture(api, ada: ada.token)
        var ids = fixture
        ids.ids["users"] = ada.id
        ids.ids["registry"] = "registry.example.com"
        ids.ids["calls"] = UUID().uuidString.lowercased()
        let before = try await snapshot(api, ada: ada.token, fixture)
        // Routes only agents call (a tool call) are tried with an agent token of Bob's.
        let bobAgent = try #require(try await api.request("POST", "/api/v1/agents", token: bob.token, body: ["name": "bob-agent"]).string("id"))
        let bobAgentToken = try #require(
            try await api.request("POST", "/api/v1/agents/\(bobAgent)/tokens", token: bob.token, body: ["name": "t"]).string("token"))

        let test = try await TestBackend.make()
        let endpoints = try HTTPServer.endpoints(ControlPlane(backend: test.backend)).filter { $0.path.contains("{") }
        #expect(endpoints.count >= 20)
        let body: [String: Any] = [
            "name": "stolen", "description": "stolen", "is_active": false, "is_allowed": false, "status": "revoked",
            "toolbox_id": fixture.ids["toolboxes"]!, "instance_id": fixture.ids["instances"]!, "tool_id": fixture.ids["catalog"]!,
            "credential_type": "api_key", "credentials": ["api_key": "stolen"], "overlap_seconds": 0, "config": [String: String](),
            "expires_in_seconds": 60, "capability": "send", "input": [String: String](), "size": "s-1vcpu-1gb",
        ]
        for endpoint in endpoints {
            let method = endpoint.method.rawValue
            let (path, missing) = concrete(endpoint.path, ids)
            guard let path else {
                Issue.record("no fixture for \(missing ?? "?") in \(method) \(endpoint.path): add one to this test")
                continue
            }
            let token = endpoint.path.hasSuffix("/execute") ? bobAgentToken : bob.token
            let reply = try await api.request(method, path, token: token, body: method == "GET" || method == "DELETE" ? nil : body)
            if endpoint.path.hasPrefix("/api/v1/catalog/") && method == "GET" {
                #expect(reply.status == 200, "the catalog is shared: \(method) \(endpoint.path)")
                continue
            }
            // A droplet's call-home routes take only a toolbox token: a user's is refused before any row is looked up.
            let expected = isAdminOnly(method, endpoint.path) || endpoint.path.hasPrefix("/api/v1/dtma/") ? 403 : 404
            #expect(reply.status == expected, "\(method) \(endpoint.path) as another user: \(String(decoding: reply.body, as: UTF8.self))")
        }

        let after = try await snapshot(api, ada: ada.token, fixture)
        for (path, row) in before {
            #expect(after[path] == row, "\(path) changed after another user's calls")
        }
        try await api.stop()
    }
}

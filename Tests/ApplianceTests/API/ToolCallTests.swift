import DockerHost
import Foundation
import TestSupport
import Testing

/// Tool calls end to end: a real `agentbox serve`, a real container of the contract test tool
/// (Tests/Fixtures/contract-tool.sh, which answers with the request it received), two agents on one instance.
struct ToolCallTests {
    typealias Deploy = LocalDeployTests
    static let image = "127.0.0.1:5000/agentbox-test/contract-tool:1"

    /// An agent of Ada's with the instance on its belt, `echo` allowed and a credential stored.
    struct Caller {
        let id: String
        let token: String
        let item: String
        let credential: String
        let secret: String
    }

    @Test func eachAgentsCallCarriesItsOwnCredentialsAndEveryRuleDeniesWithItsCode() async throws {
        guard let docker = await Deploy.engine() else { return }
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "5", "--port-range", "39500-39549", "--log-level", "debug"])
        var toolboxes: [String] = []
        try await Deploy.cleaningUp(docker, api: { api }, toolboxes: { toolboxes }) {
            let (ada, box) = try await Deploy.userWithToolbox(api)
            toolboxes = [box]
            let instance = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: box, tool: try await Self.addTool(api), "tools")
            let running = try await Deploy.waitFor(api, instance, token: ada.token, status: "running")
            let port = try #require(Deploy.hostPort(running))
            let first = try await Self.caller(api, owner: ada.token, toolbox: box, instance: instance, name: "scout")
            let second = try await Self.caller(api, owner: ada.token, toolbox: box, instance: instance, name: "scribe")
            var errorBodies: [String] = []
            func call(_ caller: Caller, _ capability: String = "echo", input: [String: Any] = [:], item: String? = nil) async throws -> TestAPI.Reply {
                let reply = try await api.request(
                    "POST", "/api/v1/toolbelt/\(item ?? caller.item)/execute", token: caller.token, body: ["capability": capability, "input": input])
                if reply.headers["agentbox-answer"] != "tool" { errorBodies.append(String(decoding: reply.body, as: UTF8.self)) }
                return reply
            }
            func denied(_ reply: TestAPI.Reply, _ status: Int, _ code: String) {
                #expect(reply.status == status && reply.errorCode == code, "expected \(status) \(code): \(ToolAPIFixtures.text(reply))")
            }

            // The allowed call reaches the tool with exactly the caller's credentials, in the body of that one request.
            let answer = try await call(first, input: ["note": "hello"])
            #expect(answer.status == 200 && answer.headers["agentbox-answer"] == "tool", "\(ToolAPIFixtures.text(answer))")
            let received = try #require(answer.json["received"] as? [String: Any], "\(ToolAPIFixtures.text(answer))")
            #expect((received["credentials"] as? [String: Any])?["api_key"] as? String == first.secret)
            #expect(received["agent_id"] as? String == first.id && received["capability"] as? String == "echo")
            #expect((received["input"] as? [String: Any])?["note"] as? String == "hello")
            #expect(received["request_id"] as? String == answer.headers["x-request-id"])
            // The CLI makes the same call with the agent's token.
            var cli = AgentboxProcess(folder: api.folder)
            cli.environment = ["AGENTBOX_TOKEN": first.token, "AGENTBOX_SERVER": "http://127.0.0.1:\(api.server.port)"]
            let printed = try await cli.run(["toolbelt", "execute", first.item, "echo", "--input", #"{"note": "from the cli"}"#])
            #expect(printed.status == 0 && printed.output.contains("from the cli") && printed.output.contains(first.secret), "\(printed.output)")
            let refused = try await cli.run(["toolbelt", "execute", first.item, "send"])
            #expect(refused.status != 0 && refused.output.contains("capability_denied"), "\(refused.output)")
            // Concurrent calls of both agents: each gets its own credentials, never the other's.
            let replies = try await withThrowingTaskGroup(of: (Caller, TestAPI.Reply).self) { group in
                for index in 0..<8 {
                    let caller = index % 2 == 0 ? first : second
                    group.addTask { (caller, try await api.request("POST", "/api/v1/toolbelt/\(caller.item)/execute", token: caller.token, body: ["capability": "echo"])) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for (caller, reply) in replies {
                let credentials = (reply.json["received"] as? [String: Any])?["credentials"] as? [String: Any]
                #expect(reply.status == 200 && credentials?["api_key"] as? String == caller.secret, "\(ToolAPIFixtures.text(reply))")
            }

            // Denials, each with its own code.
            denied(try await api.request("POST", "/api/v1/toolbelt/\(first.item)/execute", token: ada.token, body: ["capability": "echo"]), 403, "agent_token_required")
            denied(try await call(second, item: first.item), 404, "not_found")
            denied(try await call(first, "send"), 403, "capability_denied")
            denied(try await call(first, "gmail_send"), 403, "capability_unknown")
            denied(try await call(first, input: ["mode": 5]), 422, "input_invalid")
            denied(try await call(first, "Not A Name!"), 400, "invalid_request")
            denied(try await api.request("POST", "/api/v1/toolbelt/\(first.item)/execute", token: first.token, body: ["input": [:]]), 400, "invalid_request")
            #expect(try await api.request("PUT", "/api/v1/toolbelt/\(second.item)/permissions/echo", token: ada.token, body: ["is_allowed": false]).status == 200)
            denied(try await call(second), 403, "capability_denied")
            #expect(try await api.request("PUT", "/api/v1/toolbelt/\(second.item)/permissions/echo", token: ada.token, body: ["is_allowed": true]).status == 200)
            // Toggling the item off takes effect on the very next call, and on again.
            #expect(try await api.request("PATCH", "/api/v1/toolbelt/\(second.item)", token: ada.token, body: ["is_active": false]).status == 200)
            denied(try await call(second), 403, "toolbelt_item_inactive")
            #expect(try await api.request("PATCH", "/api/v1/toolbelt/\(second.item)", token: ada.token, body: ["is_active": true]).status == 200)
            #expect(try await call(second).status == 200)

            // The tool's verdicts: refreshed credentials are sealed again and used next; rejected ones need the owner.
            let refreshed = try await call(second, input: ["mode": "refresh"])
            #expect(refreshed.status == 200 && refreshed.json["agentbox"] == nil, "the agentbox member is for agentbox only: \(ToolAPIFixtures.text(refreshed))")
            let renewed = try await api.request("GET", "/api/v1/credentials/\(second.credential)", token: ada.token)
            #expect(renewed.string("status") == "active" && renewed.json["last_validated_at"] is String, "\(ToolAPIFixtures.text(renewed))")
            let afterRefresh = try await call(second)
            #expect(((afterRefresh.json["received"] as? [String: Any])?["credentials"] as? [String: Any])?["api_key"] as? String == "sk-refreshed-by-the-tool")
            let rejected = try await call(first, input: ["mode": "reject"])
            #expect(rejected.status == 200 && rejected.json["agentbox"] == nil)
            #expect(try await api.request("GET", "/api/v1/credentials/\(first.credential)", token: ada.token).string("status") == "requires_reauth")
            denied(try await call(first), 403, "credential_requires_reauth")
            // Revoking takes effect on the very next call.
            #expect(try await api.request("PATCH", "/api/v1/credentials/\(second.credential)", token: ada.token, body: ["status": "revoked"]).status == 200)
            denied(try await call(second), 403, "credential_revoked")
            let fresh = try await Self.storeCredential(api, owner: ada.token, item: second.item, secret: "sk-second-\(UUID().uuidString)")
            let third = Caller(id: second.id, token: second.token, item: second.item, credential: fresh.id, secret: fresh.secret)

            // A tool that fails, hangs, answers text or too much.
            let failed = try await call(third, input: ["mode": "fail"])
            #expect(failed.status == 500 && failed.headers["agentbox-answer"] == "tool", "the tool's own error is relayed as it is")
            let started = ContinuousClock.now
            denied(try await call(third, input: ["mode": "sleep"]), 504, "tool_timeout")
            let waited = ContinuousClock.now - started
            #expect(waited >= .milliseconds(1400) && waited < .seconds(5), "cut off after the catalog's 1.5 s, not later: \(waited)")
            denied(try await call(third, input: ["mode": "text"]), 502, "tool_bad_answer")
            denied(try await call(third, input: ["mode": "huge"]), 502, "tool_answer_too_large")
            #expect(try await call(third).status == 200, "the tool still answers after those")

            // Every call, hand-out and denial is in the audit log, with the rule that denied.
            let audit = try await api.request("GET", "/api/v1/audit?limit=200", token: api.adminToken).items
            let calls = audit.filter { $0["action"] as? String == "tool.call" }
            for rule in ["agent_token_required", "capability_denied", "capability_unknown", "input_invalid", "toolbelt_item_inactive", "credential_requires_reauth", "credential_revoked", "tool_timeout"] {
                #expect(calls.contains { ($0["detail"] as? [String: String])?["rule"] == rule }, "a tool.call record names \(rule)")
            }
            #expect(audit.contains { $0["action"] as? String == "credential.rejected_by_tool" && $0["target_id"] as? String == first.credential })
            #expect(audit.contains { $0["action"] as? String == "credential.refreshed_by_tool" && $0["target_id"] as? String == second.credential })
            let handouts = audit.filter { $0["action"] as? String == "credential.handout" && $0["outcome"] as? String == "ok" }
            #expect(handouts.count == calls.filter { $0["outcome"] as? String != "denied" }.count, "one hand-out per call that reached the DTMA")

            // Stopped: the call is refused before any ticket.
            #expect(try await api.request("POST", "/api/v1/instances/\(instance)/stop", token: ada.token).status == 200)
            _ = try await Deploy.waitFor(api, instance, token: ada.token, status: "stopped")
            denied(try await call(third), 409, "instance_not_running")

            // The canaries appear in no docker inspect, no log line at debug level, no error body, no plain text on disk.
            let canaries = [first.secret, second.secret, third.secret, "sk-refreshed-by-the-tool"]
            let container = try #require(try await docker.listContainers(labels: ["agentbox.instance": instance], all: true).first)
            let inspect = try await Self.dockerInspect(container.id)
            #expect(inspect.contains(container.id), "docker inspect answered")
            let log = try await api.stop()
            #expect(log.contains("debug"), "the server logged at debug level")
            for canary in canaries {
                #expect(!inspect.contains(canary), "docker inspect shows a credential")
                #expect(!log.contains(canary), "the log shows a credential")
                #expect(!errorBodies.contains { $0.contains(canary) }, "an error body shows a credential")
                for file in ["agentbox.sqlite", "agentbox.sqlite-wal"] {
                    let bytes = (try? Data(contentsOf: URL(fileURLWithPath: api.folder.appending("data/\(file)")))) ?? Data()
                    #expect(bytes.range(of: Data(canary.utf8)) == nil, "\(file) holds a credential in plain text")
                }
            }
            #expect(port > 0)

            // The audit chain holds after all of it, and breaks when one record is edited.
            let agentbox = AgentboxProcess(folder: api.folder)
            let data = ["--data-dir", api.folder.appending("data")]
            let intact = try await agentbox.run(["audit", "verify"] + data)
            #expect(intact.status == 0, "\(intact.output)")
            try await AuditForgery.edit(database: api.folder.appending("data/agentbox.sqlite"), seq: 5, scratch: api.folder)
            let broken = try await agentbox.run(["audit", "verify"] + data)
            #expect(broken.status == 1 && broken.output.contains("BROKEN at record 5"), "\(broken.output)")
        }
    }

    // MARK: - Helpers

    /// The contract tool in the catalog: `echo` with an input schema, `send` without; a 1.5 s execute time-out.
    static func addTool(_ api: TestAPI) async throws -> String {
        var body = ToolAPIFixtures.tool("contract")
        body["docker_image_url"] = image
        body["memory_limit_mb"] = 64
        body["execute_timeout_ms"] = 1500
        body["required_capabilities_schema"] = [
            "echo": [
                "description": "Answer with the request", "input_schema": [
                    "type": "object", "additionalProperties": false, "properties": ["mode": ["type": "string"], "note": ["type": "string"]],
                ],
            ],
            "send": "Send",
        ]
        body["required_secrets_schema"] = ["type": "object", "required": ["api_key"], "properties": ["api_key": ["type": "string"]]]
        let reply = try await api.request("POST", "/api/v1/catalog", token: api.adminToken, body: body)
        #expect(reply.status == 201, "\(ToolAPIFixtures.text(reply))")
        return try #require(reply.string("id"))
    }

    /// An agent of the owner with access to the toolbox, the instance on its belt, `echo` allowed and a credential.
    static func caller(_ api: TestAPI, owner: String, toolbox: String, instance: String, name: String) async throws -> Caller {
        func created(_ method: String, _ path: String, _ body: [String: Any]) async throws -> [String: Any] {
            let reply = try await api.request(method, path, token: owner, body: body)
            #expect((200..<300).contains(reply.status), "\(method) \(path): \(ToolAPIFixtures.text(reply))")
            return reply.json
        }
        let agent = try #require(try await created("POST", "/api/v1/agents", ["name": name])["id"] as? String)
        let token = try #require(try await created("POST", "/api/v1/agents/\(agent)/tokens", ["name": "calls"])["token"] as? String)
        _ = try await created("POST", "/api/v1/agents/\(agent)/toolboxes", ["toolbox_id": toolbox])
        let item = try #require(try await created("POST", "/api/v1/agents/\(agent)/toolbelt", ["instance_id": instance])["id"] as? String)
        _ = try await created("PUT", "/api/v1/toolbelt/\(item)/permissions/echo", ["is_allowed": true])
        let credential = try await storeCredential(api, owner: owner, item: item, secret: "sk-\(name)-\(UUID().uuidString)")
        return Caller(id: agent, token: token, item: item, credential: credential.id, secret: credential.secret)
    }

    static func storeCredential(_ api: TestAPI, owner: String, item: String, secret: String) async throws -> (id: String, secret: String) {
        let reply = try await api.request(
            "POST", "/api/v1/toolbelt/\(item)/credentials", token: owner, body: ["credential_type": "api_key", "credentials": ["api_key": secret]])
        #expect(reply.status == 201, "\(ToolAPIFixtures.text(reply))")
        return (try #require(reply.string("id")), secret)
    }

    /// `docker inspect` of a container, as the CLI prints it.
    static func dockerInspect(_ id: String) async throws -> String {
        let folder = try TemporaryDirectory()
        let output = folder.appending("inspect.json")
        try writeFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker")
        process.arguments = ["inspect", id]
        process.standardOutput = FileHandle(forWritingAtPath: output)
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        return try String(contentsOfFile: output, encoding: .utf8)
    }
}

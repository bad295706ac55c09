import Foundation
import TestSupport
import Testing

/// `/mcp` through the official MCP Python SDK client (Tests/MCP/mcp_client_check.py) against a running agentbox with
/// a real tool container: each agent lists exactly what it may call and calls with its own credentials, a denied
/// capability is a tool error with its code, a session belongs to its agent, and revoking a permission sends
/// `tools/list_changed` to a session that holds on.
struct MCPTests {
    typealias Deploy = LocalDeployTests

    @Test func twoAgentsSeeAndCallOnlyTheirOwnToolsAndASessionHearsItsListChange() async throws {
        guard let docker = await Deploy.engine() else { return }
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "5", "--port-range", "39700-39749"])
        var toolboxes: [String] = []
        try await Deploy.cleaningUp(docker, api: { api }, toolboxes: { toolboxes }) {
            let (ada, box) = try await Deploy.userWithToolbox(api)
            toolboxes = [box]
            // Each agent has its own instance of the tool on its toolbelt.
            let tool = try await ToolCallTests.addTool(api)
            let agents = try await [("scout", "tools"), ("scribe", "notes")].asyncMap { name, instanceName in
                let instance = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: box, tool: tool, instanceName)
                _ = try await Deploy.waitFor(api, instance, token: ada.token, status: "running")
                let caller = try await ToolCallTests.caller(api, owner: ada.token, toolbox: box, instance: instance, name: name)
                return ["name": name, "token": caller.token, "item": caller.item, "instance": instanceName, "secret": caller.secret]
            }
            let setup = String(
                decoding: try JSONSerialization.data(withJSONObject: ["url": "http://127.0.0.1:\(api.server.port)/mcp", "owner": ada.token, "agents": agents]),
                as: UTF8.self)
            var output = ""
            do {
                output = try await Command.run(["env", "python3", ConsoleBrowserTests.project + "/Tests/MCP/mcp_client_check.py", setup], in: api.folder)
            } catch {
                Issue.record("the MCP client check failed: \(error)\nthe server's log ends with: \(api.server.output.suffix(3000))")
            }
            for check in [
                "scout lists only its allowed tool tools.echo", "scribe lists only its allowed tool notes.echo", "scout cannot call scribe's tool: unknown_tool", "scribe's call reached the container with its own credentials",
                "scout's call of a denied capability is a tool error with code capability_denied", "another agent's token cannot use a session",
                "revoking scout's permission sent tools/list_changed", "mcp: ok",
            ] {
                #expect(output.contains(check), "\(output)")
            }
            // Every call went through the execute path: audited, the denials with their rule.
            let audit = try await api.request("GET", "/api/v1/audit?limit=200", token: api.adminToken).items
            #expect(audit.filter { $0["action"] as? String == "tool.call" && $0["outcome"] as? String == "ok" }.count >= 2, "\(audit.prefix(20))")
            #expect(audit.contains { $0["action"] as? String == "tool.call" && $0["outcome"] as? String == "denied" })
        }
    }

    @Test func aToolThatIsAnMCPServerGetsTheCallWithTheAgentsCredentialsInTheRequestOnly() async throws {
        guard let docker = await Deploy.engine() else { return }
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "5", "--port-range", "39750-39799"])
        var toolboxes: [String] = []
        try await Deploy.cleaningUp(docker, api: { api }, toolboxes: { toolboxes }) {
            let (ada, box) = try await Deploy.userWithToolbox(api)
            toolboxes = [box]
            var body = ToolAPIFixtures.tool("mcp-lookup")
            body["docker_image_url"] = "127.0.0.1:5000/agentbox-test/mcp-tool:1"
            body["protocol"] = "mcp"
            body["memory_limit_mb"] = 64
            body["execute_timeout_ms"] = 3000
            body["required_capabilities_schema"] = ["echo": "Look up through MCP", "send": "Send"]
            body["required_secrets_schema"] = [
                "type": "object", "required": ["api_key"],
                "properties": ["api_key": ["type": "string", "x-agentbox-header": "Authorization", "x-agentbox-prefix": "Bearer "]],
            ]
            let created = try await api.request("POST", "/api/v1/catalog", token: api.adminToken, body: body)
            #expect(created.status == 201, "\(ToolAPIFixtures.text(created))")
            let tool = try #require(created.string("id"))
            let instance = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: box, tool: tool, "lookup")
            _ = try await Deploy.waitFor(api, instance, token: ada.token, status: "running")
            let caller = try await ToolCallTests.caller(api, owner: ada.token, toolbox: box, instance: instance, name: "finder")
            let setup = String(
                decoding: try JSONSerialization.data(withJSONObject: [
                    "url": "http://127.0.0.1:\(api.server.port)/mcp",
                    "container": ["name": "finder", "token": caller.token, "instance": "lookup", "secret": caller.secret],
                ]), as: UTF8.self)
            var output = ""
            do {
                output = try await Command.run(["env", "python3", ConsoleBrowserTests.project + "/Tests/MCP/mcp_client_check.py", setup], in: api.folder)
            } catch {
                Issue.record("the MCP client check failed: \(error)\nthe server's log ends with: \(api.server.output.suffix(3000))")
            }
            #expect(output.contains("the MCP tool got finder's call with its credential in the Authorization header") && output.contains("mcp: ok"), "\(output)")
            // The container never holds the credential: not in its environment, labels or anything docker inspect shows.
            let containers = try await docker.listContainers(labels: ["agentbox.instance": instance], all: true)
            let container = try #require(containers.first)
            let inspected = try await ToolCallTests.dockerInspect(container.id)
            #expect(inspected.contains(instance) && !inspected.contains(caller.secret), "docker inspect shows the credential")
        }
    }
}

extension Array {
    /// The elements transformed one after another by an async function.
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async throws -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

import DockerHost
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// Local toolboxes for real: `serve` with its in-process DTMA against the local Docker engine and the test
/// registry (scripts/test-services.sh start). Each test uses its own port range and removes every container
/// labelled for its toolboxes, even when it fails.
struct LocalDeployTests {
    static let echo = "127.0.0.1:5000/agentbox-test/echo:1"

    @Test func twoUsersInstancesRunOnTheirOwnPortsAndStopStartAndDeleteLeaveTheOtherAlone() async throws {
        guard let docker = await Self.engine() else { return }
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "1", "--port-range", "39300-39349"])
        var toolboxes: [String] = []
        try await Self.cleaningUp(docker, api: api, toolboxes: { toolboxes }) {
            let tool = try await Self.addTool(api, "echo", image: Self.echo)
            let ada = try await api.createUser("ada")
            let bob = try await api.createUser("bob")
            let adaBox = try await ToolAPIFixtures.addToolbox(api, token: ada.token, "ada-box")
            let bobBox = try await ToolAPIFixtures.addToolbox(api, token: bob.token, "bob-box")
            toolboxes = [adaBox, bobBox]
            let adaWeb = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: adaBox, tool: tool, "web")
            let bobWeb = try await ToolAPIFixtures.addInstance(api, token: bob.token, toolbox: bobBox, tool: tool, "web")

            let adaRunning = try await Self.waitFor(api, adaWeb, token: ada.token, status: "running")
            let bobRunning = try await Self.waitFor(api, bobWeb, token: bob.token, status: "running")
            let adaPort = try #require(Self.hostPort(adaRunning))
            let bobPort = try #require(Self.hostPort(bobRunning))
            #expect(adaPort != bobPort && (39300...39349).contains(adaPort) && (39300...39349).contains(bobPort))
            #expect(await Self.health(adaPort) == 200)
            #expect(await Self.health(bobPort) == 200)
            #expect(adaRunning["last_heartbeat_from_dtma"] != nil)
            let bobContainers = try await docker.listContainers(labels: ["agentbox.toolbox": bobBox], all: true)
            #expect(bobContainers.count == 1)

            // Stop, then start again.
            #expect(try await api.request("POST", "/api/v1/instances/\(adaWeb)/stop", token: ada.token).status == 200)
            #expect(await Self.until { await Self.health(adaPort, attempts: 1) != 200 }, "the stopped instance's port stops answering")
            #expect(try await api.request("GET", "/api/v1/instances/\(adaWeb)", token: ada.token).string("status") == "stopped")
            #expect(try await api.request("POST", "/api/v1/instances/\(adaWeb)/start", token: ada.token).status == 200)
            #expect(await Self.health(adaPort) == 200)
            _ = try await Self.waitFor(api, adaWeb, token: ada.token, status: "running")

            // Delete: the row goes once the container is gone; nothing labelled for ada's toolbox remains.
            let deleted = try await api.request("DELETE", "/api/v1/instances/\(adaWeb)", token: ada.token)
            #expect(deleted.status == 202 && deleted.string("status") == "pending_delete", "\(ToolAPIFixtures.text(deleted))")
            #expect(await Self.until { (try? await api.request("GET", "/api/v1/instances/\(adaWeb)", token: ada.token).status) == 404 })
            #expect(try await docker.listContainers(labels: ["agentbox.toolbox": adaBox], all: true).isEmpty)

            // Bob's container was never touched by ada's reconciler.
            let after = try await docker.listContainers(labels: ["agentbox.toolbox": bobBox], all: true)
            #expect(after.map(\.id) == bobContainers.map(\.id))
            #expect(await Self.health(bobPort) == 200)
            #expect(try await api.request("GET", "/api/v1/instances/\(bobWeb)", token: bob.token).string("status") == "running")
        }
    }

    @Test func aBrokenImageAndAMissingTagEndInErrorWithDockersReason() async throws {
        guard let docker = await Self.engine() else { return }
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "1", "--port-range", "39350-39399"])
        var toolboxes: [String] = []
        try await Self.cleaningUp(docker, api: api, toolboxes: { toolboxes }) {
            let broken = try await Self.addTool(api, "broken", image: "127.0.0.1:5000/agentbox-test/broken:1")
            let missing = try await Self.addTool(api, "missing", image: "127.0.0.1:5000/agentbox-test/echo:no-such-tag")
            let ada = try await api.createUser("ada")
            let box = try await ToolAPIFixtures.addToolbox(api, token: ada.token, "ada-box")
            toolboxes = [box]
            let one = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: box, tool: broken, "broken")
            let two = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: box, tool: missing, "missing")
            let failed = try await Self.waitFor(api, one, token: ada.token, status: "error")
            #expect((failed["status_detail"] as? String)?.contains("exited") == true, "\(failed)")
            let pulled = try await Self.waitFor(api, two, token: ada.token, status: "error")
            let reason = pulled["status_detail"] as? String ?? ""
            #expect(reason.contains("no-such-tag") || reason.contains("not found") || reason.contains("unknown"), "\(reason)")
            #expect(try await api.server.get("/healthz").status == 200, "the API stays up")
        }
    }

    // MARK: - Helpers

    /// The local engine, with the test image pulled; nil (a skip, or a failure under CI=true) when it is not there.
    static func engine() async -> DockerClient? {
        let docker = DockerClient(socketPath: ProcessInfo.processInfo.environment["AGENTBOX_DOCKER_SOCKET"] ?? "/var/run/docker.sock")
        do {
            try await docker.ping()
            if try await docker.inspectImage(echo) == nil { try await docker.pullImage(echo, auth: nil, progress: { _ in }) }
            return docker
        } catch {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("the Docker engine or the test registry is not available (\(error)); run scripts/test-services.sh start")
            } else {
                print("skipped: the Docker engine or the test registry is not available (\(error)); run scripts/test-services.sh start")
            }
            return nil
        }
    }

    /// Runs `body`, then stops the server and removes every container labelled for the test's toolboxes.
    static func cleaningUp(
        _ docker: DockerClient, api: TestAPI, toolboxes: () -> [String], _ body: () async throws -> Void
    ) async throws {
        var failure: (any Error)?
        do { try await body() } catch { failure = error }
        let log = (try? await api.stop()) ?? ""
        for toolbox in toolboxes() {
            for container in (try? await docker.listContainers(labels: ["agentbox.toolbox": toolbox], all: true)) ?? [] {
                try? await docker.removeContainer(container.id, force: true)
            }
        }
        if let failure {
            Issue.record("server log:\n\(log.suffix(4000))")
            throw failure
        }
    }

    /// Adds a catalog tool of `image` serving on 8080, as the admin.
    static func addTool(_ api: TestAPI, _ name: String, image: String) async throws -> String {
        var body = ToolAPIFixtures.tool(name)
        body["docker_image_url"] = image
        body["memory_limit_mb"] = 64
        let reply = try await api.request("POST", "/api/v1/catalog", token: api.adminToken, body: body)
        #expect(reply.status == 201, "adding tool \(name): \(ToolAPIFixtures.text(reply))")
        return try #require(reply.string("id"))
    }

    /// Polls an instance until it has `status` (30 s at most) and returns it.
    static func waitFor(_ api: TestAPI, _ id: String, token: String, status: String) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        for _ in 0..<120 {
            last = try await api.request("GET", "/api/v1/instances/\(id)", token: token).json
            if last["status"] as? String == status { return last }
            try await Task.sleep(for: .milliseconds(250))
        }
        Issue.record("instance \(id) did not become \(status) within 30 s: \(last)")
        return last
    }

    static func hostPort(_ instance: [String: Any]) -> Int? {
        (instance["port_mapping"] as? [String: Any])?["host_port"] as? Int
    }

    /// Whether `condition` holds within 30 s.
    static func until(_ condition: () async -> Bool) async -> Bool {
        for _ in 0..<120 {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return false
    }

    /// The status of `GET /health` on a loopback port, trying for up to 10 s; 0 when nothing answers.
    static func health(_ port: Int, attempts: Int = 40) async -> Int {
        for attempt in 0..<attempts {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/health")!)
            request.timeoutInterval = 2
            if let (_, response) = try? await URLSession.shared.data(for: request), let http = response as? HTTPURLResponse {
                return http.statusCode
            }
            if attempt + 1 < attempts { try? await Task.sleep(for: .milliseconds(250)) }
        }
        return 0
    }
}

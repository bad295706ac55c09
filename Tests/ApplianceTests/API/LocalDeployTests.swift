import DockerHost
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Storage
import TestSupport
import Testing

/// Local toolboxes for real: `serve` with its in-process DTMA against the local Docker engine and the test
/// registry (scripts/test-services.sh start). Each test uses its own port range and removes every container
/// labelled for its toolboxes, even when it fails.
struct LocalDeployTests {
    static let echo = "127.0.0.1:5000/agentbox-test/echo:1"

    @Test func twoUsersThreeInstancesRunOnTheirOwnPortsAndStopStartRestartAndDeleteLeaveNothingBehind() async throws {
        guard let docker = await Self.engine() else { return }
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "1", "--port-range", "39300-39349"])
        var toolboxes: [String] = []
        try await Self.cleaningUp(docker, api: { api }, toolboxes: { toolboxes }) {
            let tool = try await Self.addTool(api, "echo", image: Self.echo)
            let ada = try await api.createUser("ada")
            let bob = try await api.createUser("bob")
            let adaBox = try await ToolAPIFixtures.addToolbox(api, token: ada.token, "ada-box")
            let bobBox = try await ToolAPIFixtures.addToolbox(api, token: bob.token, "bob-box")
            toolboxes = [adaBox, bobBox]
            let adaWeb = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: adaBox, tool: tool, "web")
            let adaWeb2 = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: adaBox, tool: tool, "web2")
            let bobWeb = try await ToolAPIFixtures.addInstance(api, token: bob.token, toolbox: bobBox, tool: tool, "web")

            let adaRunning = try await Self.waitFor(api, adaWeb, token: ada.token, status: "running")
            let ada2Running = try await Self.waitFor(api, adaWeb2, token: ada.token, status: "running")
            let bobRunning = try await Self.waitFor(api, bobWeb, token: bob.token, status: "running")
            let adaPort = try #require(Self.hostPort(adaRunning))
            let ada2Port = try #require(Self.hostPort(ada2Running))
            let bobPort = try #require(Self.hostPort(bobRunning))
            #expect(Set([adaPort, ada2Port, bobPort]).count == 3 && [adaPort, ada2Port, bobPort].allSatisfy { (39300...39349).contains($0) })
            #expect(await Self.health(adaPort) == 200)
            #expect(await Self.health(ada2Port) == 200)
            #expect(await Self.health(bobPort) == 200)
            #expect(try await docker.listContainers(labels: ["agentbox.toolbox": adaBox], all: true).count == 2)
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

            // Restart: the same container starts again (a later start time), on the same port.
            let web2Container = try #require(try await docker.listContainers(labels: ["agentbox.instance": adaWeb2], all: true).first)
            let startedBefore = try #require(try await docker.inspectContainer(web2Container.id)?.state.startedAt)
            #expect(try await api.request("POST", "/api/v1/instances/\(adaWeb2)/restart", token: ada.token).string("status") == "running")
            #expect(
                await Self.until { ((try? await docker.inspectContainer(web2Container.id))??.state.startedAt ?? .distantPast) > startedBefore },
                "the restart request restarts the container")
            #expect(await Self.health(ada2Port) == 200)
            #expect(try await api.request("GET", "/api/v1/instances/\(adaWeb2)/events", token: ada.token).items.contains { $0["kind"] as? String == "restart" })

            // Delete both: each row goes once its container is gone; nothing labelled for ada's toolbox remains.
            for id in [adaWeb, adaWeb2] {
                let deleted = try await api.request("DELETE", "/api/v1/instances/\(id)", token: ada.token)
                #expect(deleted.status == 202 && deleted.string("status") == "pending_delete", "\(ToolAPIFixtures.text(deleted))")
            }
            for id in [adaWeb, adaWeb2] {
                #expect(await Self.until { (try? await api.request("GET", "/api/v1/instances/\(id)", token: ada.token).status) == 404 })
            }
            #expect(try await docker.listContainers(labels: ["agentbox.toolbox": adaBox], all: true).isEmpty)
            #expect(try await Self.leasedPorts(api) == [bobPort], "ada's ports are free again; bob's is still leased")
            let metrics = try await api.server.get("/metrics").body
            #expect(metrics.contains(#"agentbox_heartbeats_total{provider="local",docker="reachable"}"#), "\(metrics.prefix(3000))")
            #expect(metrics.contains(#"agentbox_instance_events_total{kind="started"}"#) && metrics.contains(#"agentbox_instance_events_total{kind="restart"}"#))

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
        try await Self.cleaningUp(docker, api: { api }, toolboxes: { toolboxes }) {
            let broken = try await Self.addTool(api, "broken", image: "127.0.0.1:5000/agentbox-test/broken:1")
            let missing = try await Self.addTool(api, "missing", image: "127.0.0.1:5000/agentbox-test/echo:no-such-tag")
            let (ada, box) = try await Self.userWithToolbox(api)
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

    @Test func anUnreachableRegistryWaitsWrongCredentialsAndATakenPortEndInErrorAndStoredCredentialsPullPrivateImages() async throws {
        guard let docker = await Self.engine() else { return }
        let environment = ProcessInfo.processInfo.environment
        guard let registry = environment["AGENTBOX_TEST_PRIVATE_REGISTRY"], let user = environment["AGENTBOX_TEST_REGISTRY_USER"],
            let passwordFile = environment["AGENTBOX_TEST_REGISTRY_PASSWORD_FILE"]
        else {
            Issue.record("the private test registry is not configured; run the tests with scripts/test.sh")
            return
        }
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let privateImage = "\(registry)/agentbox-test/private-echo:1"
        // The engine must really pull: an image left from an earlier run would hide a refused login.
        try await docker.removeImage(privateImage, force: true)
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "1", "--port-range", "39500-39549"])
        var toolboxes: [String] = []
        try await Self.cleaningUp(docker, api: { api }, toolboxes: { toolboxes }) {
            let nowhere = try await Self.addTool(api, "nowhere", image: "127.0.0.1:9/agentbox-test/echo:1")
            let secret = try await Self.addTool(api, "secret", image: privateImage)
            let echo = try await Self.addTool(api, "echo", image: Self.echo)
            let stored = try await api.request(
                "POST", "/api/v1/registries", token: api.adminToken, body: ["registry": registry, "username": user, "password": "wrong-\(password)"])
            #expect(stored.status == 200 && stored.json["password"] == nil, "\(ToolAPIFixtures.text(stored))")
            let ada = try await api.createUser("ada")
            #expect(
                try await api.request("POST", "/api/v1/registries", token: ada.token, body: ["registry": registry, "username": "x", "password": "y"]).status
                    == 403)
            let box = try await ToolAPIFixtures.addToolbox(api, token: ada.token, "ada-box")
            toolboxes = [box]

            let unreachable = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: box, tool: nowhere, "nowhere")
            let refused = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: box, tool: secret, "secret")
            let web = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: box, tool: echo, "web")
            // A registry that cannot be reached may come back: the deploy waits, saying why and when it pulls again.
            let noRegistry = try await Self.waitUntil(api, unreachable, token: ada.token) { ($0["status_detail"] as? String)?.contains("pulling again") == true }
            let reason = noRegistry["status_detail"] as? String ?? ""
            #expect(noRegistry["status"] as? String == "deploying", "\(noRegistry)")
            #expect(reason.contains("127.0.0.1:9") && (reason.contains("connection refused") || reason.contains("dial tcp")), "\(reason)")
            let badLogin = try await Self.waitFor(api, refused, token: ada.token, status: "error")
            let loginReason = (badLogin["status_detail"] as? String ?? "").lowercased()
            #expect(loginReason.contains("unauthorized") || loginReason.contains("authentication required"), "\(loginReason)")
            #expect(!loginReason.contains(password), "the password appears in no status")

            // The right login, stored sealed; a retry pulls the private image and runs it.
            let fixed = try await api.request(
                "POST", "/api/v1/registries", token: api.adminToken, body: ["registry": registry, "username": user, "password": password])
            #expect(fixed.status == 200)
            #expect(try await api.request("GET", "/api/v1/registries", token: api.adminToken).items.map { $0["registry"] as? String } == [registry])
            #expect(try await api.request("POST", "/api/v1/instances/\(refused)/start", token: ada.token).string("status") == "pending_deploy")
            let pulled = try await Self.waitFor(api, refused, token: ada.token, status: "running")
            #expect(await Self.health(try #require(Self.hostPort(pulled))) == 200)
            #expect(try await docker.inspectImage(privateImage) != nil)

            // A port taken by another process while the instance was stopped: Docker's own reason.
            let running = try await Self.waitFor(api, web, token: ada.token, status: "running")
            let port = try #require(Self.hostPort(running))
            #expect(try await api.request("POST", "/api/v1/instances/\(web)/stop", token: ada.token).status == 200)
            _ = try await Self.waitFor(api, web, token: ada.token, status: "stopped")
            // Docker's proxy lets go of the port a moment after the stop.
            var squatter: LoopbackListener?
            #expect(await Self.until {
                squatter = try? LoopbackListener(port: port)
                return squatter != nil
            }, "port \(port) is free once the instance stopped")
            #expect(try await api.request("POST", "/api/v1/instances/\(web)/start", token: ada.token).status == 200)
            let taken = try await Self.waitFor(api, web, token: ada.token, status: "error")
            withExtendedLifetime(squatter) {}
            #expect((taken["status_detail"] as? String ?? "").contains("address already in use"), "\(taken)")
            #expect(try await api.server.get("/healthz").status == 200, "the API stays up")
            let log = try String(contentsOfFile: api.server.log, encoding: .utf8)
            #expect(!log.contains(password), "the registry password appears in no log line")
        }
    }

    @Test func anUpgradeToABrokenVersionRollsBackOnTheSamePortAndAGoodOneStays() async throws {
        guard let docker = await Self.engine() else { return }
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "1", "--port-range", "39550-39599"])
        var toolboxes: [String] = []
        try await Self.cleaningUp(docker, api: { api }, toolboxes: { toolboxes }) {
            let tool = try await Self.addTool(api, "echo", image: Self.echo)
            let (ada, box) = try await Self.userWithToolbox(api)
            toolboxes = [box]
            let web = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: box, tool: tool, "web")
            let port = try #require(Self.hostPort(try await Self.waitFor(api, web, token: ada.token, status: "running")))
            #expect(try await api.request("POST", "/api/v1/instances/\(web)/upgrade", token: ada.token).errorCode == "conflict")

            // Version 2.0.0 is broken: the instance returns to 1.0.0, running, on the same port.
            let broken = ["version": "2.0.0", "docker_image_url": "127.0.0.1:5000/agentbox-test/broken:1"]
            #expect(try await api.request("PATCH", "/api/v1/catalog/\(tool)", token: api.adminToken, body: broken).status == 200)
            let upgrading = try await api.request("POST", "/api/v1/instances/\(web)/upgrade", token: ada.token)
            #expect(upgrading.string("version") == "2.0.0" && upgrading.string("previous_version") == "1.0.0", "\(ToolAPIFixtures.text(upgrading))")
            let rolledBack = try await Self.waitUntil(api, web, token: ada.token) { $0["previous_version"] == nil }
            #expect(rolledBack["version"] as? String == "1.0.0" && rolledBack["status"] as? String == "running", "\(rolledBack)")
            #expect((rolledBack["status_detail"] as? String ?? "").contains("rolled back to 1.0.0"), "\(rolledBack)")
            #expect(Self.hostPort(rolledBack) == port)
            #expect(await Self.body(port, "/version") == "agentbox-test/echo:1")
            #expect(try await docker.listContainers(labels: ["agentbox.instance": web], all: true).count == 1)

            // Version 2.0.1 is good: the new container answers on the same port, the old one is gone.
            let good = ["version": "2.0.1", "docker_image_url": "127.0.0.1:5000/agentbox-test/echo:2"]
            #expect(try await api.request("PATCH", "/api/v1/catalog/\(tool)", token: api.adminToken, body: good).status == 200)
            #expect(try await api.request("POST", "/api/v1/instances/\(web)/upgrade", token: ada.token).status == 200)
            let upgraded = try await Self.waitUntil(api, web, token: ada.token) { $0["previous_version"] == nil }
            #expect(upgraded["version"] as? String == "2.0.1" && upgraded["status"] as? String == "running", "\(upgraded)")
            #expect(upgraded["image"] as? String == "127.0.0.1:5000/agentbox-test/echo:2")
            #expect(Self.hostPort(upgraded) == port)
            #expect(await Self.body(port, "/version") == "agentbox-test/echo:2")
            let containers = try await docker.listContainers(labels: ["agentbox.instance": web], all: true)
            #expect(containers.map { $0.labels["agentbox.version"] } == ["2.0.1"])
            let kinds = try await api.request("GET", "/api/v1/instances/\(web)/events", token: ada.token).items.compactMap { $0["kind"] as? String }
            #expect(kinds.contains("rollback") && kinds.filter { $0 == "upgrade" }.count >= 3, "\(kinds)")

            // Switched off in the catalog: the instance keeps running, flagged; no new deploys, no upgrades.
            #expect(try await api.request("PATCH", "/api/v1/catalog/\(tool)", token: api.adminToken, body: ["is_enabled": false]).status == 200)
            let flagged = try await api.request("GET", "/api/v1/instances/\(web)", token: ada.token)
            #expect(flagged.json["catalog_disabled"] as? Bool == true && flagged.string("status") == "running")
            let listed = try await api.request("GET", "/api/v1/toolboxes/\(box)/instances", token: ada.token).items
            #expect(listed.first?["catalog_disabled"] as? Bool == true)
            #expect(await Self.health(port) == 200)
            let refused = try await api.request("POST", "/api/v1/toolboxes/\(box)/instances", token: ada.token, body: ["tool_id": tool, "name": "more"])
            #expect(refused.status == 422)
            #expect(try await api.request("POST", "/api/v1/instances/\(web)/upgrade", token: ada.token).status == 422)
        }
    }

    @Test func instanceDeployShowsThePullAndEndsRunning() async throws {
        guard let docker = await Self.engine() else { return }
        let image = "127.0.0.1:5000/agentbox-test/echo:2"
        try await docker.removeImage(image, force: true)
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "1", "--port-range", "39600-39649"])
        var toolboxes: [String] = []
        try await Self.cleaningUp(docker, api: { api }, toolboxes: { toolboxes }) {
            let tool = try await Self.addTool(api, "echo2", image: image)
            let (ada, box) = try await Self.userWithToolbox(api)
            toolboxes = [box]
            var cli = AgentboxProcess(folder: api.folder)
            cli.environment = ["AGENTBOX_SERVER": "http://127.0.0.1:\(api.server.port)", "AGENTBOX_TOKEN": ada.token, "HOME": api.folder.path]
            let deploy = try await cli.run(["instance", "deploy", "--toolbox", box, "--tool", tool, "--name", "web", "--timeout", "60"])
            #expect(deploy.status == 0, "\(deploy.output)")
            #expect(deploy.output.contains("pulling \(image)") && deploy.output.contains("pulled \(image)"), "\(deploy.output)")
            #expect(deploy.output.contains("started container") && deploy.output.contains("is running"), "\(deploy.output)")
        }
    }

    @Test func withoutAnEngineALocalToolboxIsRefusedAndReadyzSaysWhyWhileTheRestWorks() async throws {
        let folder = try TemporaryDirectory()
        let missing = folder.appending("no-docker.sock")
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "1", "--docker-socket", missing])
        defer { _ = api }
        let ada = try await api.createUser("ada")
        let refused = try await api.request("POST", "/api/v1/toolboxes", token: ada.token, body: ["name": "home", "provider": "local"])
        #expect(refused.status == 503 && refused.errorCode == "unavailable", "\(ToolAPIFixtures.text(refused))")
        let message = (refused.json["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains(missing) && message.contains("--docker-socket") && message.contains("start"), "\(message)")
        #expect(try await api.request("GET", "/api/v1/toolboxes", token: ada.token).items.isEmpty, "nothing was created")
        let ready = try await api.server.get("/readyz")
        #expect(ready.status == 503 && ready.body.contains("docker"), "\(ready.body)")
        #expect(try await api.request("GET", "/api/v1/me", token: ada.token).status == 200)
        #expect(try await api.server.get("/healthz").status == 200)
        try await api.stop()
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
        _ docker: DockerClient, api: () -> TestAPI, toolboxes: () -> [String], _ body: () async throws -> Void
    ) async throws {
        var failure: (any Error)?
        do { try await body() } catch { failure = error }
        let log = (try? await api().stop()) ?? ""
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

    /// A user named `name` with a local toolbox `<name>-box`, made through the API.
    static func userWithToolbox(_ api: TestAPI, _ name: String = "ada") async throws -> (user: (id: String, token: String), toolbox: String) {
        let user = try await api.createUser(name)
        return (user, try await ToolAPIFixtures.addToolbox(api, token: user.token, "\(name)-box"))
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

    /// The host ports leased in the server's database, read beside the running server.
    static func leasedPorts(_ api: TestAPI) async throws -> Set<Int> {
        let database = try AppDatabase.openExisting(path: api.folder.appending("data") + "/agentbox.sqlite")
        return try await database.snapshot { tx in try tx.leasedPorts(engine: "local") }
    }

    /// Polls an instance until `condition` holds for it (60 s at most) and returns it.
    static func waitUntil(_ api: TestAPI, _ id: String, token: String, _ condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        for _ in 0..<240 {
            last = try await api.request("GET", "/api/v1/instances/\(id)", token: token).json
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(250))
        }
        Issue.record("instance \(id) did not reach the expected state within 60 s: \(last)")
        return last
    }

    /// The trimmed body of `GET path` on a loopback port, or nil.
    static func body(_ port: Int, _ path: String) async -> String? {
        guard let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!) else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
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

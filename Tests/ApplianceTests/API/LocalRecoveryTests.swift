import DockerHost
import Foundation
import Storage
import TestSupport
import Testing

/// The local DTMA after things go wrong: the appliance killed with SIGKILL mid-deploy, containers removed or
/// killed by hand, stray labelled containers, and the Docker engine going away while the appliance serves.
struct LocalRecoveryTests {
    typealias Deploy = LocalDeployTests

    @Test func afterAKillMidDeployTheContainerIsAdoptedOrphansGoAndRemovedOrKilledContainersComeBack() async throws {
        guard let docker = await Deploy.engine() else { return }
        // A 10-minute poll: every repair below comes from Docker's events or the backend's signals, not the poll.
        let slow = ["--reconcile-interval", "600", "--port-range", "39400-39449"]
        // The first server dies (SIGKILL, as kill -9) right after it creates a container, before any status is written.
        let first = try await TestAPI.start(serveArguments: slow, environment: ["AGENTBOX_FAILPOINT": "after-container-create"])
        var toolboxes: [String] = []
        var api = first
        try await Deploy.cleaningUp(docker, api: { api }, toolboxes: { toolboxes }) {
            let tool = try await Deploy.addTool(api, "echo", image: Deploy.echo)
            let (ada, box) = try await Deploy.userWithToolbox(api)
            toolboxes = [box]
            // The answer may or may not arrive before the process dies.
            _ = try? await api.request("POST", "/api/v1/toolboxes/\(box)/instances", token: ada.token, body: ["tool_id": tool, "name": "web"])
            #expect(await first.server.waitForExit(timeout: .seconds(30)), "the fail point did not kill the server: \(first.server.output)")
            let created = try await docker.listContainers(labels: ["agentbox.toolbox": box], all: true)
            try #require(created.count == 1, "one container was created before the kill: \(created)")
            let instance = try #require(created[0].labels["agentbox.instance"])

            // While the appliance is down, someone leaves a container labelled for the toolbox that no instance owns.
            let orphan = try await docker.createContainer(
                ContainerSpec(
                    name: "agentbox-orphan-\(UUID().uuidString.prefix(8).lowercased())", image: Deploy.echo,
                    labels: ["agentbox.toolbox": box, "agentbox.instance": UUID().uuidString.lowercased(), "agentbox.version": "1.0.0"],
                    containerPort: 8080, hostIP: "127.0.0.1", hostPort: 0))

            api = try await first.restarted(serveArguments: slow)
            let running = try await Deploy.waitFor(api, instance, token: ada.token, status: "running")
            let port = try #require(Deploy.hostPort(running))
            #expect(await Deploy.health(port) == 200)
            let adopted = try await docker.listContainers(labels: ["agentbox.toolbox": box], all: true)
            #expect(adopted.map(\.id) == [created[0].id], "the container made before the kill is adopted, not duplicated; the orphan is gone")
            #expect(try await docker.inspectContainer(orphan) == nil)

            // Removed by hand: recreated (a new container) and answering on the same port.
            let removedAt = Timestamp.string(from: Date())
            try await docker.removeContainer(created[0].id, force: true)
            #expect(
                await Deploy.until {
                    let now = (try? await docker.listContainers(labels: ["agentbox.toolbox": box], all: false)) ?? []
                    return now.count == 1 && now[0].id != created[0].id
                }, "the removed container is recreated")
            #expect(await Deploy.health(port) == 200)
            // Let the pass that recreated it finish (it watches a new container for a moment before reporting it):
            // its toolbox's heartbeat is newer than the "started" event it wrote for the new container (the instance's
            // own stamp moves only once a minute while nothing changes; the toolbox's within a second of each beat).
            #expect(
                await Deploy.until {
                    let events = (try? await api.request("GET", "/api/v1/instances/\(instance)/events", token: ada.token).items) ?? []
                    let startedAt = events.filter { $0["kind"] as? String == "started" }.compactMap { $0["at"] as? String }.max() ?? ""
                    let beat = try? await api.request("GET", "/api/v1/toolboxes/\(box)", token: ada.token).string("last_heartbeat_at")
                    return startedAt > removedAt && (beat ?? "") > startedAt
                }, "the pass that recreated the container reported it")

            // Killed by hand: running again within 3 seconds.
            let current = try #require(try await docker.listContainers(labels: ["agentbox.toolbox": box], all: false).first)
            try await docker.killContainer(current.id)
            let killedAt = ContinuousClock.now
            var back: Duration?
            while ContinuousClock.now - killedAt < .seconds(10) {
                if let info = try await docker.inspectContainer(current.id), info.state.running, info.state.startedAt ?? .distantPast > Date().addingTimeInterval(-10) {
                    back = ContinuousClock.now - killedAt
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let history = try await api.request("GET", "/api/v1/instances/\(instance)/events", token: ada.token).items
            let elapsed = try #require(back, "the killed container was not started again within 10 s; events: \(history)")
            print("a container killed by hand ran again after \(elapsed) (10-minute poll)")
            #expect(elapsed < .seconds(3))
            #expect(await Deploy.health(port) == 200)
            let events = try await api.request("GET", "/api/v1/instances/\(instance)/events", token: ada.token).items.compactMap { $0["kind"] as? String }
            #expect(events.contains("crashed") && events.contains("started") && events.contains("created"), "\(events)")
        }
    }

    @Test func whenTheEngineStopsTheAPIKeepsAnsweringAndTheReconcilerConvergesWhenItReturns() async throws {
        guard let docker = await Deploy.engine() else { return }
        guard let control = ProcessInfo.processInfo.environment["AGENTBOX_TEST_ENGINE_CONTROL"] else {
            // Stopping an engine that scripts/test-services.sh did not start could harm the developer's own containers.
            print("skipped: the Docker engine was not started by scripts/test-services.sh, so this test will not stop it")
            return
        }
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "1", "--port-range", "39450-39499"])
        var toolboxes: [String] = []
        try await Deploy.cleaningUp(docker, api: { api }, toolboxes: { toolboxes }) {
            let tool = try await Deploy.addTool(api, "echo", image: Deploy.echo)
            let (ada, box) = try await Deploy.userWithToolbox(api)
            toolboxes = [box]
            let web = try await ToolAPIFixtures.addInstance(api, token: ada.token, toolbox: box, tool: tool, "web")
            let port = try #require(Deploy.hostPort(try await Deploy.waitFor(api, web, token: ada.token, status: "running")))

            try await Self.script(control, "engine-stop")
            var failure: (any Error)?
            do {
                #expect(
                    await Deploy.until { (try? await api.server.get("/readyz"))?.status == 503 }, "readyz answers 503 while the engine is down")
                let ready = try await api.server.get("/readyz")
                #expect(ready.body.contains("docker") && ready.body.contains("unreachable"), "\(ready.body)")
                #expect(try await api.request("GET", "/api/v1/me", token: ada.token).status == 200, "the API keeps answering")
                #expect(try await api.request("GET", "/api/v1/instances/\(web)", token: ada.token).status == 200)
                #expect(
                    await Deploy.until {
                        (try? await api.request("GET", "/api/v1/toolboxes/\(box)", token: ada.token).string("reachability")) == "unreachable"
                    }, "the toolbox is marked unreachable")
            } catch {
                failure = error
            }
            // The engine comes back whatever happened above: the tests after this one need it.
            try await Self.script(control, "engine-start")
            if let failure { throw failure }
            #expect(await Deploy.until { (try? await api.server.get("/readyz"))?.status == 200 }, "readyz recovers")
            #expect(await Deploy.health(port) == 200, "the reconciler started the container again without a restart of agentbox")
            #expect(try await api.request("GET", "/api/v1/instances/\(web)", token: ada.token).string("status") == "running")
            #expect(
                await Deploy.until {
                    (try? await api.request("GET", "/api/v1/toolboxes/\(box)", token: ada.token).string("reachability")) == "reachable"
                }, "the toolbox is reachable again")
        }
    }

    /// Runs `scripts/test-services.sh <command>` (polling for its end: `waitUntilExit` can miss it under Swift concurrency).
    static func script(_ path: String, _ command: String) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [path, command]
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        try #require(process.terminationStatus == 0, "\(path) \(command) failed")
    }
}

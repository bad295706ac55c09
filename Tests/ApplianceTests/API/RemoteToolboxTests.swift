import DockerHost
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Remote toolboxes end to end on one machine: `serve` pointed at the DigitalOcean stand-in, which "boots" each
/// droplet by running the built `agentbox dtma` with the facts of its user-data (and fetching the agent package as
/// the user-data does). The droplet's DTMA enrolls, heartbeats, runs its tools in the local engine under its own
/// toolbox's labels, and takes tool calls over the connections it opens.
struct RemoteToolboxTests {
    typealias Deploy = LocalDeployTests

    /// A stand-in that boots `binary` on its droplets, a server on a fixed loopback port that droplets call home to,
    /// the admin's DigitalOcean token set, and a user.
    struct World {
        let sim: StandInProcess
        let api: TestAPI
        let port: Int
        let ada: (id: String, token: String)

        static func start(_ folder: TemporaryDirectory, binary: String = AgentboxProcess.executable, serve: [String] = []) async throws -> World {
            let sim = try await StandInProcess.start(
                ["--active-after", "0.3", "--ip-after", "0.3", "--boot-dtma", binary, "--dtma-restart-delay", "0.5",
                 "--droplet-root", folder.appending("droplets")], folder: folder)
            let port = try TestServices.freeLoopbackPort()
            let api = try await TestAPI.start(serveArguments: World.serveArguments(sim, port: port) + serve)
            let set = try await api.request("PUT", "/api/v1/admin/digitalocean/token", token: api.adminToken, body: ["token": sim.token])
            #expect(set.status == 200, "\(ToolAPIFixtures.text(set))")
            return World(sim: sim, api: api, port: port, ada: try await api.createUser("ada"))
        }

        /// The local DTMA is off: whatever runs was started by the droplet's DTMA.
        static func serveArguments(_ sim: StandInProcess, port: Int) -> [String] {
            [
                "--port", String(port), "--public-url", "http://127.0.0.1:\(port)", "--reconcile-interval", "0", "--digitalocean-api", sim.baseURL,
                "--dtma-heartbeat-interval", "0.5", "--enrollment-timeout", "120", "--port-range", "39600-39649", "--log-level", "debug",
            ]
        }

        /// Creates a DigitalOcean toolbox and waits until its DTMA made it active.
        func activeToolbox(_ name: String = "cloud") async throws -> [String: Any] {
            let created = try await api.request(
                "POST", "/api/v1/toolboxes", token: ada.token, body: ["name": name, "provider": "digitalocean", "region": "nyc3", "size": "s-1vcpu-1gb"])
            #expect(created.status == 201, "\(ToolAPIFixtures.text(created))")
            let id = try #require(created.string("id"))
            return try await RemoteToolboxTests.until(api, id, token: ada.token, seconds: 60) { $0["status"] as? String == "active" }
        }

        /// The stand-in's record of the DTMA it runs for the toolbox's droplet.
        func dtma(of toolbox: String) async throws -> [String: Any] {
            let droplets = try await sim.state()["droplets"] as? [[String: Any]] ?? []
            let droplet = droplets.first { ($0["tags"] as? [String])?.contains("agentbox-toolbox-\(toolbox)") == true }
            return droplet?["dtma"] as? [String: Any] ?? [:]
        }
    }

    /// Polls a toolbox until `condition` holds.
    static func until(_ api: TestAPI, _ id: String, token: String, seconds: Int = 30, _ condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        for _ in 0..<(seconds * 5) {
            last = try await api.request("GET", "/api/v1/toolboxes/\(id)", token: token).json
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("toolbox \(id) did not get there within \(seconds) s: \(last)")
        return last
    }

    static func alive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    /// Every file under `folder`, and the process's command line and environment, as text.
    static func everythingOfTheDroplet(folder: String, pid: Int32?) -> String {
        var text = ""
        if let files = FileManager.default.enumerator(atPath: folder) {
            for case let path as String in files {
                if let data = FileManager.default.contents(atPath: folder + "/" + path), data.count < 50 << 20 { text += String(decoding: data, as: UTF8.self) }
            }
        }
        if let pid {
            for name in ["cmdline", "environ"] {
                if let data = FileManager.default.contents(atPath: "/proc/\(pid)/\(name)") { text += String(decoding: data, as: UTF8.self) }
            }
        }
        return text
    }

    @Test func aDropletsDTMAEnrollsRunsAToolTakesCallsAndLeavesNothingWhenDeprovisioned() async throws {
        guard let docker = await Deploy.engine() else { return }
        let folder = try TemporaryDirectory()
        let world = try await World.start(folder)
        defer { Task { await world.sim.stop() } }
        var toolboxes: [String] = []
        try await Deploy.cleaningUp(docker, api: { world.api }, toolboxes: { toolboxes }) {
            let api = world.api
            let toolbox = try await world.activeToolbox()
            let id = try #require(toolbox["id"] as? String)
            toolboxes = [id]
            let version = try await api.request("GET", "/healthz", token: nil).string("version")
            #expect(toolbox["agent_version"] as? String == version && toolbox["reachability"] as? String == "reachable", "\(toolbox)")
            #expect(toolbox["last_heartbeat_at"] is String)
            let dtma = try await world.dtma(of: id)
            let pid = try #require((dtma["pid"] as? Int).map(Int32.init), "\(dtma)")
            #expect((dtma["package_bytes"] as? Int ?? 0) > 0, "the droplet fetched the agent package as its user-data says: \(dtma)")

            // A tool deployed there runs in the engine under the droplet's toolbox's labels, on its leased port.
            let instance = try await ToolAPIFixtures.addInstance(api, token: world.ada.token, toolbox: id, tool: try await ToolCallTests.addTool(api), "tools")
            let running = try await Deploy.waitFor(api, instance, token: world.ada.token, status: "running")
            let port = try #require(Deploy.hostPort(running))
            #expect(await Deploy.health(port) == 200)
            let containers = try await docker.listContainers(labels: ["agentbox.toolbox": id], all: true)
            #expect(containers.count == 1 && containers.first?.labels["agentbox.instance"] == instance, "\(containers)")

            // An agent's call through the appliance reaches it with the agent's credentials.
            let caller = try await ToolCallTests.caller(api, owner: world.ada.token, toolbox: id, instance: instance, name: "scout")
            let answer = try await api.request(
                "POST", "/api/v1/toolbelt/\(caller.item)/execute", token: caller.token, body: ["capability": "echo", "input": ["note": "far away"]])
            #expect(answer.status == 200 && answer.headers["agentbox-answer"] == "tool", "\(ToolAPIFixtures.text(answer))")
            let received = try #require(answer.json["received"] as? [String: Any], "\(ToolAPIFixtures.text(answer))")
            #expect((received["credentials"] as? [String: Any])?["api_key"] as? String == caller.secret)
            #expect((received["input"] as? [String: Any])?["note"] as? String == "far away")
            let denied = try await api.request("POST", "/api/v1/toolbelt/\(caller.item)/execute", token: caller.token, body: ["capability": "send"])
            #expect(denied.status == 403 && denied.errorCode == "capability_denied", "\(ToolAPIFixtures.text(denied))")

            // The agent's token never reaches the droplet: not in its files, its log, its command line or environment;
            // its user-data holds the single-use enrollment token only.
            let droplet = Self.everythingOfTheDroplet(folder: try #require(dtma["folder"] as? String), pid: pid)
            #expect(!droplet.isEmpty && !droplet.contains(caller.token) && !droplet.contains(caller.secret))
            #expect(!droplet.contains(world.ada.token) && !droplet.contains(api.adminToken))
            let userData = try #require(try await DigitalOceanToolboxTests.tagged(world.sim, id).first?["user_data"] as? String)
            #expect(userData.contains("abx_e_") && !userData.contains("abx_t_") && !userData.contains("abx_a_") && !userData.contains("abx_u_"))
            // It downloaded the package once, and no agent binary (it runs the appliance's version already).
            let audit = try await api.request("GET", "/api/v1/audit?limit=200", token: api.adminToken).items.compactMap { $0["action"] as? String }
            #expect(audit.filter { $0 == "agent.package" }.count == 1, "\(audit)")
            #expect(!audit.contains("agent.binary"), "\(audit)")

            // Deprovisioning with cascade leaves no droplet, no DTMA process and no container.
            #expect(try await api.request("DELETE", "/api/v1/toolboxes/\(id)?cascade=true", token: world.ada.token).status == 200)
            _ = try await Self.until(api, id, token: world.ada.token) { $0["status"] as? String == "archived" }
            #expect(try await DigitalOceanToolboxTests.tagged(world.sim, id).isEmpty)
            #expect(await Deploy.until { !Self.alive(pid) }, "the droplet's DTMA process is gone")
            #expect(try await docker.listContainers(labels: ["agentbox.toolbox": id], all: true).isEmpty)
        }
    }

    @Test func aStoppedDTMATurnsItsToolboxUnreachableCallsFailFastAndItComesBackWithoutADuplicate() async throws {
        guard let docker = await Deploy.engine() else { return }
        let folder = try TemporaryDirectory()
        let world = try await World.start(folder)
        defer { Task { await world.sim.stop() } }
        var toolboxes: [String] = []
        try await Deploy.cleaningUp(docker, api: { world.api }, toolboxes: { toolboxes }) {
            let api = world.api
            let id = try #require(try await world.activeToolbox()["id"] as? String)
            toolboxes = [id]
            let instance = try await ToolAPIFixtures.addInstance(api, token: world.ada.token, toolbox: id, tool: try await ToolCallTests.addTool(api), "tools")
            _ = try await Deploy.waitFor(api, instance, token: world.ada.token, status: "running")
            let caller = try await ToolCallTests.caller(api, owner: world.ada.token, toolbox: id, instance: instance, name: "scout")
            let call = { try await api.request("POST", "/api/v1/toolbelt/\(caller.item)/execute", token: caller.token, body: ["capability": "echo"]) }
            #expect(try await call().status == 200)
            let pid = try #require((try await world.dtma(of: id)["pid"] as? Int).map(Int32.init))

            // Stopped for longer than the grace period (three heartbeat intervals): unreachable, and calls fail at once.
            #expect(kill(pid, SIGSTOP) == 0)
            let silent = try await Self.until(api, id, token: world.ada.token) { $0["reachability"] as? String == "unreachable" }
            #expect(silent["status"] as? String == "active")
            let started = ContinuousClock.now
            let refused = try await call()
            #expect(refused.status == 503 && refused.errorCode == "toolbox_unreachable", "\(ToolAPIFixtures.text(refused))")
            #expect(ContinuousClock.now - started < .seconds(2), "the call failed fast")

            // Resumed: reachable again, calls work, and its container was neither duplicated nor replaced.
            #expect(kill(pid, SIGCONT) == 0)
            _ = try await Self.until(api, id, token: world.ada.token) { $0["reachability"] as? String == "reachable" }
            var answered = false
            for _ in 0..<20 where !answered {
                answered = try await call().status == 200
                if !answered { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(answered, "calls work again once the DTMA is back")
            #expect(try await docker.listContainers(labels: ["agentbox.toolbox": id], all: true).count == 1)
        }
    }

    @Test func aDropletsDTMAUpdatesItselfToTheAppliancesReleaseAndABrokenReleaseRollsBack() async throws {
        guard let docker = await Deploy.engine() else { return }
        let folder = try TemporaryDirectory()
        // Version N+1 without building twice: a copy of the binary with its version stamp rewritten.
        let next = folder.appending("agentbox-next")
        try VersionStamp.patchedCopy(of: AgentboxProcess.executable, to: next, version: "9.9.1")
        let world = try await World.start(folder, serve: ["--agent-binary", next])
        defer { Task { await world.sim.stop() } }
        var toolboxes: [String] = []
        var api = world.api
        try await Deploy.cleaningUp(docker, api: { api }, toolboxes: { toolboxes }) {
            let id = try #require(try await world.activeToolbox()["id"] as? String)
            toolboxes = [id]
            let instance = try await ToolAPIFixtures.addInstance(api, token: world.ada.token, toolbox: id, tool: try await ToolCallTests.addTool(api), "tools")
            _ = try await Deploy.waitFor(api, instance, token: world.ada.token, status: "running")
            let before = try await docker.listContainers(labels: ["agentbox.toolbox": id], all: true).map(\.id)

            // N -> N+1: the DTMA downloads the release, checks it, switches to it; its container keeps running.
            let updated = try await Self.until(api, id, token: world.ada.token, seconds: 60) { $0["agent_version"] as? String == "9.9.1" }
            #expect(updated["reachability"] as? String == "reachable")
            let audit = try await api.request("GET", "/api/v1/audit?limit=200", token: api.adminToken).items.compactMap { $0["action"] as? String }
            #expect(audit.contains("toolbox.agent_version"), "\(audit)")
            #expect(try await docker.listContainers(labels: ["agentbox.toolbox": id], all: true).map(\.id) == before)
            #expect(try await Deploy.waitFor(api, instance, token: world.ada.token, status: "running")["status"] as? String == "running")

            // N+1 -> a broken N+2 (it starts, answers `version`, and fails as a DTMA): rolled back, still on N+1, said so.
            let broken = folder.appending("agentbox-broken")
            try writeFile(
                atPath: broken, contents: Data("#!/bin/sh\nif [ \"$1\" = version ]; then echo 'agentbox 9.9.2'; exit 0; fi\necho 'broken build' >&2\nexit 3\n".utf8))
            chmod(broken, 0o755)
            _ = try await api.stop()
            api = try await api.restarted(serveArguments: World.serveArguments(world.sim, port: world.port) + ["--agent-binary", broken])
            let rolledBack = try await Self.until(api, id, token: world.ada.token, seconds: 60) {
                ($0["status_detail"] as? String)?.contains("9.9.2") == true
            }
            #expect(rolledBack["agent_version"] as? String == "9.9.1", "\(rolledBack)")
            try await Task.sleep(for: .seconds(2))
            let later = try await api.request("GET", "/api/v1/toolboxes/\(id)", token: world.ada.token).json
            #expect(later["agent_version"] as? String == "9.9.1" && later["reachability"] as? String == "reachable", "\(later)")
            #expect(try await docker.listContainers(labels: ["agentbox.toolbox": id], all: true).map(\.id) == before)
        }
    }
}

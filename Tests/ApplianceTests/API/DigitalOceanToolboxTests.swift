import Foundation
import TestSupport
import Testing

/// DigitalOcean toolboxes through the API, with `serve` pointed at the project's stand-in: placement checked against
/// the live lists, the droplet created once (also across a kill -9), waited for until it has its address, a failed
/// placement and a missing enrollment ending in `error` with the reason, and deprovisioning that deletes by tag.
struct DigitalOceanToolboxTests {
    /// A stand-in with quick droplets, and a server pointed at it with the admin's token set.
    static func world(
        _ folder: TemporaryDirectory, enrollment: Int = 4, environment: [String: String] = [:]
    ) async throws -> (StandInProcess, TestAPI, ada: (id: String, token: String)) {
        let sim = try await StandInProcess.start(["--active-after", "0.5", "--ip-after", "0.5"], folder: folder)
        let api = try await TestAPI.start(
            serveArguments: Self.serve(sim, enrollment: enrollment), environment: environment)
        let set = try await api.request("PUT", "/api/v1/admin/digitalocean/token", token: api.adminToken, body: ["token": sim.token])
        #expect(set.status == 200, "\(ToolAPIFixtures.text(set))")
        return (sim, api, try await api.createUser("ada"))
    }

    static func serve(_ sim: StandInProcess, enrollment: Int) -> [String] {
        // The "droplets" of the stand-in live on this machine: the public URL may be plain HTTP on loopback.
        ["--reconcile-interval", "0", "--digitalocean-api", sim.baseURL, "--enrollment-timeout", String(enrollment), "--public-url", "http://127.0.0.1:8420"]
    }

    /// Polls a toolbox until `condition` holds (30 s at most).
    static func until(_ api: TestAPI, _ id: String, token: String, _ condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        for _ in 0..<150 {
            last = try await api.request("GET", "/api/v1/toolboxes/\(id)", token: token).json
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("toolbox \(id) did not get there within 30 s: \(last)")
        return last
    }

    static func tagged(_ sim: StandInProcess, _ toolbox: String) async throws -> [[String: Any]] {
        let droplets = try await sim.state()["droplets"] as? [[String: Any]] ?? []
        return droplets.filter { ($0["tags"] as? [String])?.contains("agentbox-toolbox-\(toolbox)") == true }
    }

    @Test func aToolboxGetsOneDropletWithItsAddressThenErrorsWithoutEnrollmentAndDeprovisionsByTag() async throws {
        let folder = try TemporaryDirectory()
        let (sim, api, ada) = try await Self.world(folder)
        defer { Task { await sim.stop() } }
        let create = "/api/v1/toolboxes"
        let badRegion = try await api.request("POST", create, token: ada.token, body: ["name": "cloud", "provider": "digitalocean", "region": "mars1", "size": "s-1vcpu-1gb"])
        #expect(badRegion.status == 422 && ToolAPIFixtures.text(badRegion).contains("available: "), "\(ToolAPIFixtures.text(badRegion))")
        let badSize = try await api.request("POST", create, token: ada.token, body: ["name": "cloud", "provider": "digitalocean", "region": "nyc3", "size": "huge"])
        #expect(badSize.status == 422 && ToolAPIFixtures.text(badSize).contains("offered there: "), "\(ToolAPIFixtures.text(badSize))")

        let created = try await api.request("POST", create, token: ada.token, body: ["name": "cloud", "provider": "digitalocean", "region": "nyc3", "size": "s-1vcpu-1gb"])
        #expect(created.status == 201 && created.string("status") == "pending_provision", "\(ToolAPIFixtures.text(created))")
        let id = try #require(created.string("id"))
        let up = try await Self.until(api, id, token: ada.token) { $0["public_ip_address"] is String }
        #expect(up["status"] as? String == "provisioning" && up["droplet_id"] is Int && up["region"] as? String == "nyc3")
        #expect((up["status_detail"] as? String)?.contains("waiting for its agent to enroll") == true, "\(up)")
        let droplets = try await Self.tagged(sim, id)
        #expect(droplets.count == 1 && droplets.first?["id"] as? Int == up["droplet_id"] as? Int)
        // Its user-data: valid cloud-config with the public URL and a single-use enrollment token, nothing long-lived.
        let userData = try #require(droplets.first?["user_data"] as? String)
        #expect(userData.contains("AGENTBOX_APPLIANCE_URL=http://127.0.0.1:8420") && userData.contains("abx_e_") && !userData.contains("abx_t_"))
        if let schema = try await CloudInitSchema.check(userData) { #expect(schema.status == 0, "\(schema.output)") }
        let failed = try await Self.until(api, id, token: ada.token) { $0["status"] as? String == "error" }
        #expect((failed["status_detail"] as? String)?.contains("did not enroll and send its first heartbeat within 4 s") == true, "\(failed)")

        #expect(try await api.request("DELETE", "/api/v1/toolboxes/\(id)", token: ada.token).status == 200)
        let archived = try await Self.until(api, id, token: ada.token) { $0["status"] as? String == "archived" }
        #expect(archived["status"] as? String == "archived")
        #expect(try await Self.tagged(sim, id).isEmpty, "no droplet is left with the toolbox's tag")
        _ = try await api.stop()
    }

    @Test func theCLIFollowsProvisioningLineByLineAndListsTheDropletAndItsAddress() async throws {
        let folder = try TemporaryDirectory()
        let (sim, api, ada) = try await Self.world(folder, enrollment: 3)
        defer { Task { await sim.stop() } }
        var cli = AgentboxProcess(folder: api.folder)
        cli.environment = ["AGENTBOX_TOKEN": ada.token, "AGENTBOX_SERVER": "http://127.0.0.1:\(api.server.port)"]
        let followed = try await cli.run(["toolbox", "create", "cloud", "--provider", "digitalocean", "--region", "nyc3", "--size", "s-1vcpu-1gb"])
        // In this part no agent enrolls: the toolbox ends in error after the 3 s, and the command says so.
        #expect(followed.status == 1, "\(followed.output)")
        for line in ["provisioning: creating the droplet", "is being created", "waiting for its agent to enroll", "error: the agent on droplet"] {
            #expect(followed.output.contains(line), "\(line) in: \(followed.output)")
        }
        let listed = try await cli.run(["toolbox", "list"])
        let id = try #require(try await api.request("GET", "/api/v1/toolboxes", token: ada.token).items.first?["id"] as? String)
        let droplet = try #require(try await Self.tagged(sim, id).first)
        #expect(listed.status == 0 && listed.output.contains("\(droplet["id"] as? Int ?? -1)") && listed.output.contains("203.0.113."), "\(listed.output)")
        _ = try await api.stop()
    }

    @Test func aResizePowersTheDropletOffResizesItAndPowersItOn() async throws {
        let folder = try TemporaryDirectory()
        let (sim, api, ada) = try await Self.world(folder, enrollment: 1)
        defer { Task { await sim.stop() } }
        try await sim.inject(["action_seconds": 0.3])
        let created = try await api.request(
            "POST", "/api/v1/toolboxes", token: ada.token, body: ["name": "grow", "provider": "digitalocean", "region": "nyc3", "size": "s-1vcpu-1gb"])
        let id = try #require(created.string("id"))
        // In this part no agent enrolls, so the toolbox ends in error; its droplet runs and can be resized.
        _ = try await Self.until(api, id, token: ada.token) { $0["status"] as? String == "error" }
        let local = try await ToolAPIFixtures.addToolbox(api, token: ada.token, "home")
        #expect(try await api.request("POST", "/api/v1/toolboxes/\(local)/resize", token: ada.token, body: ["size": "s-2vcpu-2gb"]).status == 409)
        let unknown = try await api.request("POST", "/api/v1/toolboxes/\(id)/resize", token: ada.token, body: ["size": "s-64vcpu"])
        #expect(unknown.status == 422 && ToolAPIFixtures.text(unknown).contains("offered there"), "\(ToolAPIFixtures.text(unknown))")

        let asked = try await api.request("POST", "/api/v1/toolboxes/\(id)/resize", token: ada.token, body: ["size": "s-2vcpu-2gb"])
        #expect(asked.status == 200 && asked.string("current_operation") == "resizing" && asked.string("size_slug") == "s-2vcpu-2gb", "\(ToolAPIFixtures.text(asked))")
        #expect(try await api.request("POST", "/api/v1/toolboxes/\(id)/resize", token: ada.token, body: ["size": "s-2vcpu-4gb"]).status == 409, "one at a time")
        var details: Set<String> = []
        let done = try await Self.until(api, id, token: ada.token) { toolbox in
            if let detail = toolbox["status_detail"] as? String { details.insert(detail) }
            return toolbox["current_operation"] == nil || toolbox["current_operation"] is NSNull
        }
        #expect((done["status_detail"] as? String)?.contains("resized to s-2vcpu-2gb") == true, "\(done)")
        #expect(details.contains { $0.contains("powering droplet") && $0.contains("off") }, "\(details)")
        let droplet = try #require(try await Self.tagged(sim, id).first)
        #expect(droplet["size_slug"] as? String == "s-2vcpu-2gb" && droplet["status"] as? String == "active", "\(droplet)")
        #expect(try await sim.requests("POST", "/v2/droplets/\(droplet["id"] as? Int ?? 0)/actions") == 3, "power off, resize, power on")
        _ = try await api.stop()
    }

    @Test func theDropletsEnrollmentTokenBuysTheToolboxTokenOnceAndNotAfterItExpires() async throws {
        let folder = try TemporaryDirectory()
        let (sim, api, ada) = try await Self.world(folder, enrollment: 3)
        defer { Task { await sim.stop() } }
        let created = try await api.request(
            "POST", "/api/v1/toolboxes", token: ada.token, body: ["name": "joiner", "provider": "digitalocean", "region": "nyc3", "size": "s-1vcpu-1gb"])
        let id = try #require(created.string("id"))
        _ = try await Self.until(api, id, token: ada.token) { $0["droplet_id"] is Int }
        let userData = try #require(try await Self.tagged(sim, id).first?["user_data"] as? String)
        let range = try #require(userData.range(of: #"abx_e_[A-Za-z0-9_-]{49}"#, options: .regularExpression))
        let enrollment = String(userData[range])

        let enroll = "/api/v1/dtma/enroll"
        let joined = try await api.request("POST", enroll, token: enrollment)
        #expect(joined.status == 200 && joined.string("toolbox_id") == id, "\(ToolAPIFixtures.text(joined))")
        let toolboxToken = try #require(joined.string("token"))
        #expect(toolboxToken.hasPrefix("abx_t_"))
        let redeem = try await api.request("POST", "/api/v1/dtma/credentials", token: toolboxToken, body: ["ticket": "abx_c_" + String(repeating: "A", count: 43)])
        #expect(redeem.errorCode == "ticket_invalid", "the new token authenticates as the toolbox: \(ToolAPIFixtures.text(redeem))")
        #expect(try await api.request("POST", enroll, token: enrollment).errorCode == "enrollment_token_used")
        #expect(try await api.request("POST", enroll, token: ada.token).errorCode == "enrollment_token_invalid")
        #expect(try await api.request("POST", enroll, token: nil).status == 401)
        #expect((try await api.request("GET", "/api/v1/toolboxes/\(id)", token: ada.token).string("status_detail") ?? "").contains("enrolled"))

        // A second toolbox's token, once the enrollment time-out has passed: expired.
        let late = try await api.request(
            "POST", "/api/v1/toolboxes", token: ada.token, body: ["name": "late", "provider": "digitalocean", "region": "nyc3", "size": "s-1vcpu-1gb"])
        let lateID = try #require(late.string("id"))
        _ = try await Self.until(api, lateID, token: ada.token) { $0["droplet_id"] is Int }
        let lateData = try #require(try await Self.tagged(sim, lateID).first?["user_data"] as? String)
        let lateToken = String(lateData[try #require(lateData.range(of: #"abx_e_[A-Za-z0-9_-]{49}"#, options: .regularExpression))])
        try await Task.sleep(for: .seconds(3.2))
        #expect(try await api.request("POST", enroll, token: lateToken).errorCode == "enrollment_token_expired")
        let audit = try await api.request("GET", "/api/v1/audit?limit=200", token: api.adminToken).items
        #expect(audit.filter { $0["action"] as? String == "toolbox.enroll" && $0["outcome"] as? String == "denied" }.count >= 3)

        // The droplet's agent waits for calls; SIGTERM ends that poll at once (no call) instead of after its 30 s.
        async let poll = api.request("GET", "/api/v1/dtma/calls?wait=30", token: toolboxToken)
        try await Task.sleep(for: .milliseconds(500))
        let stopping = ContinuousClock.now
        _ = try await api.stop()
        let stopped = ContinuousClock.now - stopping
        let polled = try await poll
        #expect(polled.status == 200 && (polled.json["calls"] as? [Any])?.isEmpty == true, "\(ToolAPIFixtures.text(polled))")
        #expect(stopped < .seconds(15), "the server took \(stopped) to stop with a droplet's poll open")
    }

    @Test func aPlacementThatFailsLaterEndsInErrorWithTheReason() async throws {
        let folder = try TemporaryDirectory()
        let (sim, api, ada) = try await Self.world(folder, enrollment: 60)
        defer { Task { await sim.stop() } }
        try await sim.inject(["placement_failure": ["count": 1, "message": "no capacity"]])
        let created = try await api.request(
            "POST", "/api/v1/toolboxes", token: ada.token, body: ["name": "unlucky", "provider": "digitalocean", "region": "nyc3", "size": "s-1vcpu-1gb"])
        let id = try #require(created.string("id"))
        let failed = try await Self.until(api, id, token: ada.token) { $0["status"] as? String == "error" }
        #expect((failed["status_detail"] as? String)?.contains("could not place droplet") == true, "\(failed)")
        _ = try await api.stop()
    }

    @Test func killedAtEachStepTheAppliancePicksUpWithOneDropletAndDeprovisionsToNone() async throws {
        let folder = try TemporaryDirectory()
        let (sim, first, ada) = try await Self.world(folder, enrollment: 60, environment: ["AGENTBOX_FAILPOINT": "after-droplet-create"])
        defer { Task { await sim.stop() } }
        let created = try await first.request(
            "POST", "/api/v1/toolboxes", token: ada.token, body: ["name": "sturdy", "provider": "digitalocean", "region": "ams3", "size": "s-1vcpu-2gb"])
        let id = try #require(created.string("id"))
        // The droplet was accepted and the process died (SIGKILL) before writing its id.
        #expect(await first.server.waitForExit(timeout: .seconds(30)), "the fail point did not kill the server")
        #expect(try await Self.tagged(sim, id).count == 1)

        let second = try await first.restarted(serveArguments: Self.serve(sim, enrollment: 60), environment: ["AGENTBOX_FAILPOINT": "after-droplet-delete"])
        let up = try await Self.until(second, id, token: ada.token) { $0["public_ip_address"] is String }
        #expect(try await Self.tagged(sim, id).map { $0["id"] as? Int } == [up["droplet_id"] as? Int], "the droplet was adopted, not made twice")
        #expect(try await sim.requests("POST", "/v2/droplets") == 1)

        // Deprovisioning: the process dies after asking for the deletion, before archiving.
        #expect(try await second.request("DELETE", "/api/v1/toolboxes/\(id)", token: ada.token).status == 200)
        #expect(await second.server.waitForExit(timeout: .seconds(30)), "the fail point did not kill the server")
        let third = try await second.restarted(serveArguments: Self.serve(sim, enrollment: 60))
        let archived = try await Self.until(third, id, token: ada.token) { $0["status"] as? String == "archived" }
        #expect(archived["status"] as? String == "archived")
        #expect(try await Self.tagged(sim, id).isEmpty)
        _ = try await third.stop()
    }
}

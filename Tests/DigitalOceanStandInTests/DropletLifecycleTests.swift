import Foundation
import Testing

extension StandInTests {
    /// Create, the slow road to `active` and an address, placement failures, listing by tag, deleting, and droplet actions.
    @Suite struct DropletLifecycleTests {
        @Test func aCreatedDropletTurnsActiveBeforeItsPublicAddressShows() async throws {
            let sim = try await StandInProcess.start(["--ip-after", "0.8"])
            let body = try await sim.expect(202, "POST", "/v2/droplets", json: #"{"name": "web-1", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}"#)
            let created = try #require(body["droplet"] as? [String: Any])
            #expect(created["status"] as? String == "new")
            #expect(created["locked"] as? Bool == true)
            #expect((created.at("networks", "v4") as? [Any])?.isEmpty == true)
            #expect(created["kernel"] is NSNull && created["next_backup_window"] is NSNull)
            let keys = ["memory", "vcpus", "disk", "created_at", "image", "size", "size_slug", "region", "tags", "vpc_uuid", "features", "backup_ids"]
            for key in keys {
                #expect(created[key] != nil, "droplet has \(key)")
            }
            let id = try #require(created["id"] as? Int)
            let link = try #require((body.at("links", "actions") as? [[String: Any]])?.first)
            let actionID = try #require(link["id"] as? Int)
            #expect(link["rel"] as? String == "create")
            #expect(link["href"] as? String == "http://127.0.0.1:\(sim.port)/v2/actions/\(actionID)")
            #expect(try await sim.expect(200, "GET", "/v2/actions/\(actionID)").at("action", "status") as? String == "in-progress")

            var firstActive: [String: Any]?
            try await sim.eventually {
                let droplet = try await sim.droplet(id)
                if droplet["status"] as? String == "active" { firstActive = droplet }
                return firstActive != nil
            }
            let active = try #require(firstActive)
            let early = try #require(active.at("networks", "v4") as? [[String: Any]])
            #expect(!early.contains { $0["type"] as? String == "public" }, "active comes before the public address")
            #expect(early.contains { $0["type"] as? String == "private" })

            var publicAddress: String?
            try await sim.eventually {
                let v4 = try await sim.droplet(id).at("networks", "v4") as? [[String: Any]] ?? []
                publicAddress = v4.first { $0["type"] as? String == "public" }?["ip_address"] as? String
                return publicAddress != nil
            }
            #expect(publicAddress?.hasPrefix("203.0.113.") == true)
            let action = try #require(try await sim.expect(200, "GET", "/v2/actions/\(actionID)")["action"] as? [String: Any])
            #expect(action["status"] as? String == "completed")
            #expect(action["completed_at"] is String && action["resource_id"] as? Int == id && action["resource_type"] as? String == "droplet")
            #expect(try await sim.droplet(id)["locked"] as? Bool == false)
        }

        @Test func aJustCreatedDropletMayAnswer404ForAMoment() async throws {
            let sim = try await StandInProcess.start(["--not-found-for", "0.6"])
            let (id, _) = try await sim.create("shy")
            #expect(try await sim.request("GET", "/v2/droplets/\(id)").status == 404)
            try await sim.eventually { try await sim.request("GET", "/v2/droplets/\(id)").status == 200 }
        }

        @Test func aScriptedPlacementFailureErrorsTheActionAndTheDropletVanishes() async throws {
            let sim = try await StandInProcess.start()
            try await sim.expect(200, "POST", "/_sim/faults", json: #"{"placement_failure": {"count": 1, "message": "no room in nyc1"}}"#)
            let (failed, failedAction) = try await sim.create("unlucky")
            let (placed, _) = try await sim.create("lucky")
            #expect(try await sim.droplet(failed)["status"] as? String == "new", "the failure is asynchronous")
            try await sim.eventually {
                try await sim.expect(200, "GET", "/v2/actions/\(failedAction)").at("action", "status") as? String == "errored"
            }
            #expect(try await sim.request("GET", "/v2/droplets/\(failed)").status == 404)
            try await sim.eventually { try await sim.droplet(placed)["status"] as? String == "active" }
            #expect(try await sim.state().droplets.compactMap { $0["id"] as? Int } == [placed])
        }

        @Test func listsByTagAcrossPagesAndDeletesByTag() async throws {
            let sim = try await StandInProcess.start()
            let tag = "agentbox-toolbox-42"
            for name in ["t1", "t2", "t3"] { _ = try await sim.create(name, tags: [tag, "env:test"]) }
            let (other, _) = try await sim.create("other", tags: ["keep"])

            let first = try await sim.expect(200, "GET", "/v2/droplets?tag_name=\(tag)&per_page=2")
            #expect((first["droplets"] as? [Any])?.count == 2)
            #expect(first.at("meta", "total") as? Int == 3)
            let pages = try #require(first.at("links", "pages") as? [String: String])
            #expect(Set(pages.keys) == ["next", "last"])
            let next = try #require(pages["next"].flatMap(URLComponents.init(string:)))
            #expect(next.host == "127.0.0.1" && next.port == sim.port && next.path == "/v2/droplets")
            let query = Set((next.queryItems ?? []).map { "\($0.name)=\($0.value ?? "")" })
            #expect(query == ["tag_name=\(tag)", "per_page=2", "page=2"])
            let second = try await sim.expect(200, "GET", "/v2/droplets?\(try #require(next.query))")
            #expect((second["droplets"] as? [[String: Any]])?.map { $0["name"] as? String } == ["t3"])
            #expect(Set((second.at("links", "pages") as? [String: String] ?? [:]).keys) == ["first", "prev"])

            #expect(try await sim.expect(200, "GET", "/v2/droplets?name=other").at("meta", "total") as? Int == 1)
            let combined = try await sim.expect(422, "GET", "/v2/droplets?tag_name=\(tag)&name=t1")
            #expect(combined["id"] as? String == "unprocessable_entity")

            let deleted = try await sim.request("DELETE", "/v2/droplets?tag_name=\(tag)")
            #expect(deleted.status == 204 && deleted.body.isEmpty)
            #expect(try await sim.expect(200, "GET", "/v2/droplets?tag_name=\(tag)").at("meta", "total") as? Int == 0)
            #expect(try await sim.state().droplets.compactMap { $0["id"] as? Int } == [other])
        }

        @Test func deletingADropletTwiceAnswers204Then404() async throws {
            let sim = try await StandInProcess.start()
            let (id, _) = try await sim.create("short-lived")
            let first = try await sim.request("DELETE", "/v2/droplets/\(id)")
            #expect(first.status == 204 && first.body.isEmpty)
            #expect(try await sim.expect(404, "DELETE", "/v2/droplets/\(id)")["id"] as? String == "not_found")
            #expect(try await sim.request("GET", "/v2/droplets/\(id)").status == 404)
        }

        @Test func resizeNeedsTheDropletPoweredOff() async throws {
            let sim = try await StandInProcess.start()
            let (id, _) = try await sim.create("grow")
            let busy = try await sim.expect(422, "POST", "/v2/droplets/\(id)/actions", json: #"{"type": "power_off"}"#)
            #expect(busy["message"] as? String == "Droplet already has a pending event.")
            try await sim.eventually { try await sim.droplet(id)["status"] as? String == "active" }

            let resize = #"{"type": "resize", "size": "s-2vcpu-4gb", "disk": true}"#
            let refused = try await sim.expect(422, "POST", "/v2/droplets/\(id)/actions", json: resize)
            #expect((refused["message"] as? String)?.contains("power it off") == true)

            let started = try await sim.expect(201, "POST", "/v2/droplets/\(id)/actions", json: #"{"type": "power_off"}"#)
            let powerOff = try #require(started["action"] as? [String: Any])
            #expect(powerOff["type"] as? String == "power_off" && powerOff["status"] as? String == "in-progress")
            let powerOffID = try #require(powerOff["id"] as? Int)
            try await sim.eventually {
                try await sim.expect(200, "GET", "/v2/droplets/\(id)/actions/\(powerOffID)").at("action", "status") as? String == "completed"
            }
            #expect(try await sim.droplet(id)["status"] as? String == "off")

            let resized = try await sim.expect(201, "POST", "/v2/droplets/\(id)/actions", json: resize)
            let resizeID = try #require(resized.at("action", "id") as? Int)
            try await sim.eventually { try await sim.expect(200, "GET", "/v2/actions/\(resizeID)").at("action", "status") as? String == "completed" }
            let droplet = try await sim.droplet(id)
            #expect(droplet["size_slug"] as? String == "s-2vcpu-4gb" && droplet["disk"] as? Int == 80 && droplet["memory"] as? Int == 4096)

            let shrink = try await sim.expect(422, "POST", "/v2/droplets/\(id)/actions", json: #"{"type": "resize", "size": "s-1vcpu-1gb"}"#)
            #expect((shrink["message"] as? String)?.contains("decrease") == true)
            try await sim.expect(201, "POST", "/v2/droplets/\(id)/actions", json: #"{"type": "power_on"}"#)
            try await sim.eventually { try await sim.droplet(id)["status"] as? String == "active" }
        }
    }
}

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

extension StandInTests {
    /// Rate limits, injected errors, dropped connections, latency and the control API.
    @Suite struct FaultInjectionTests {
        @Test func thePerMinuteWindowAnswers429WithRetryAfter() async throws {
            let sim = try await StandInProcess.start(["--rate-limit-per-minute", "3"])
            var remaining: [String] = []
            for _ in 0..<3 {
                let reply = try await sim.request("GET", "/v2/account")
                #expect(reply.status == 200)
                remaining.append(reply.headers["ratelimit-remaining"] ?? "")
            }
            #expect(remaining == ["4999", "4998", "4997"])
            let limited = try await sim.request("GET", "/v2/regions")
            #expect(limited.status == 429)
            #expect(limited.object["id"] as? String == "too_many_requests")
            let retryAfter = try #require(limited.headers["retry-after"].flatMap(Int.init))
            #expect((55...60).contains(retryAfter))
            #expect(limited.headers["ratelimit-limit"] == "5000" && limited.headers["x-request-id"] != nil)
            #expect(try await sim.request("GET", "/_sim/state").status == 200, "the control API does not count")
        }

        @Test func thePerHourWindowAnswers429Too() async throws {
            let sim = try await StandInProcess.start(["--rate-limit-per-hour", "2"])
            #expect(try await sim.request("GET", "/v2/account").headers["ratelimit-remaining"] == "1")
            #expect(try await sim.request("GET", "/v2/account").headers["ratelimit-remaining"] == "0")
            let limited = try await sim.request("GET", "/v2/account")
            #expect(limited.status == 429 && limited.headers["ratelimit-remaining"] == "0" && limited.headers["ratelimit-limit"] == "2")
            #expect((3590...3600).contains(try #require(limited.headers["retry-after"].flatMap(Int.init))))
        }

        @Test func aScriptedBurstAnswers429ThenLetsRequestsThrough() async throws {
            let sim = try await StandInProcess.start()
            try await sim.expect(200, "POST", "/_sim/faults", json: #"{"rate_limit_burst": {"count": 2, "retry_after": 3}}"#)
            for _ in 0..<2 {
                let reply = try await sim.request("GET", "/v2/account")
                #expect(reply.status == 429 && reply.headers["retry-after"] == "3")
            }
            #expect(try await sim.request("GET", "/v2/account").status == 200)
        }

        @Test func anInjected503HitsOnlyMatchingRequestsAndCreatesNothing() async throws {
            let sim = try await StandInProcess.start()
            let rule = #"{"status": 503, "count": 2, "method": "POST", "path_prefix": "/v2/droplets"}"#
            try await sim.expect(200, "POST", "/_sim/faults", json: #"{"fail": [\#(rule)]}"#)
            let create = #"{"name": "retry-me", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}"#
            #expect(try await sim.expect(200, "GET", "/v2/droplets")["droplets"] is [Any], "a GET does not match")
            for _ in 0..<2 {
                let body = try await sim.expect(503, "POST", "/v2/droplets", json: create)
                #expect(body["id"] as? String == "service_unavailable" && body["request_id"] is String)
            }
            try await sim.expect(202, "POST", "/v2/droplets", json: create)
            let state = try await sim.state()
            #expect(state.droplets.count == 1)
            #expect(state.requests.compactMap { $0["status"] as? Int } == [200, 503, 503, 202])
        }

        @Test func dropAfterCreateCreatesExactlyOneDropletAndTheClientSeesATransportError() async throws {
            let sim = try await StandInProcess.start()
            try await sim.expect(200, "POST", "/_sim/faults", json: #"{"drop_after_create": 1}"#)
            let create = #"{"name": "lost-answer", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "tags": ["agentbox-toolbox-9"]}"#
            await #expect(throws: URLError.self) { try await sim.request("POST", "/v2/droplets", json: create) }
            let state = try await sim.state()
            #expect(state.droplets.map { $0["name"] as? String } == ["lost-answer"])
            #expect(state.requests.map { "\($0["method"] ?? "") \($0["path"] ?? "") \($0["status"] ?? "")" } == ["POST /v2/droplets 0"])
            let listed = try await sim.expect(200, "GET", "/v2/droplets?tag_name=agentbox-toolbox-9")
            #expect(listed.at("meta", "total") as? Int == 1, "the client can find and adopt the droplet by its tag")
            try await sim.expect(202, "POST", "/v2/droplets", json: create)
        }

        @Test func aScriptedDropEndsTheConnectionWithoutAnAnswer() async throws {
            let sim = try await StandInProcess.start()
            try await sim.expect(200, "POST", "/_sim/faults", json: #"{"drop": [{"count": 1, "method": "GET", "path_prefix": "/v2/account"}]}"#)
            await #expect(throws: URLError.self) { try await sim.request("GET", "/v2/account") }
            #expect(try await sim.request("GET", "/v2/account").status == 200)
        }

        @Test func latencyTimingsAndResetAreControlledAtRunTime() async throws {
            let sim = try await StandInProcess.start(["--active-after", "30"])
            try await sim.expect(200, "POST", "/_sim/faults", json: #"{"latency_ms": 300, "active_after_seconds": 0.2, "ip_after_seconds": 0}"#)
            let start = ContinuousClock.now
            let (id, _) = try await sim.create("quick")
            #expect(ContinuousClock.now - start >= .milliseconds(300))
            try await sim.eventually(within: .seconds(3)) {
                let droplet = try await sim.droplet(id)
                return droplet["status"] as? String == "active" && (droplet.at("networks", "v4") as? [Any])?.count == 2
            }
            let cleared = try await sim.expect(200, "DELETE", "/_sim/faults")
            #expect(cleared["latency_ms"] as? Int == 0 && cleared["active_after_seconds"] as? Double == 30)
            #expect(try await sim.expect(422, "POST", "/_sim/faults", json: #"{"latency": 1}"#)["message"] as? String != nil)
            #expect(try await sim.request("GET", "/_sim/state", token: "wrong").status == 401)

            try await sim.expect(200, "POST", "/_sim/reset")
            let state = try await sim.state()
            #expect(state.droplets.isEmpty && state.requests.isEmpty)
            #expect(try await sim.stop() == 0, "SIGTERM stops it cleanly")
        }
    }
}

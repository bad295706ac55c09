import Foundation
import TestSupport
import Testing

@testable import DigitalOcean

/// The DigitalOcean client against the project's stand-in (`agentbox-do-sim`), one behaviour of DIGITALOCEAN.md
/// at a time: a fresh stand-in per test, fast timings, and short retry waits.
struct DigitalOceanClientTests {
    let folder: TemporaryDirectory

    init() throws {
        folder = try TemporaryDirectory()
    }

    /// A stand-in and a client of it with short back-off.
    func standIn(_ arguments: [String] = ["--active-after", "0.3", "--ip-after", "0.6"], pageSize: Int = 200) async throws -> (StandInProcess, DigitalOceanClient) {
        let sim = try await StandInProcess.start(arguments, folder: folder)
        let client = DigitalOceanClient(
            token: sim.token, baseURL: sim.baseURL, retry: RetryPolicy(base: .milliseconds(50), cap: .milliseconds(400), attempts: 4),
            timeout: .seconds(5), pageSize: pageSize)
        return (sim, client)
    }

    func request(_ name: String, tag: String) -> DropletRequest {
        DropletRequest(name: name, region: "nyc3", size: "s-1vcpu-1gb", tags: [tag, "agentbox"], userData: "#cloud-config\n")
    }

    @Test func theAccountRegionsAndSizesAgreeWithEachOther() async throws {
        let (sim, client) = try await standIn()
        defer { Task { await sim.stop() } }
        let account = try await client.account()
        #expect((account.dropletLimit ?? 0) > 0 && account.status == "active")
        let regions = try await client.regions()
        let sizes = try await client.sizes()
        #expect(regions.count >= 3 && sizes.count >= 3)
        for size in sizes {
            for slug in size.regions {
                #expect(regions.first { $0.slug == slug }?.sizes?.contains(size.slug) == true, "size \(size.slug) in region \(slug)")
            }
        }
    }

    @Test func aWrongTokenIsUnauthorizedWithDigitalOceansIdAndRequestID() async throws {
        let (sim, _) = try await standIn()
        defer { Task { await sim.stop() } }
        let client = DigitalOceanClient(token: "wrong", baseURL: sim.baseURL, retry: RetryPolicy(base: .milliseconds(10), attempts: 3))
        do {
            _ = try await client.account()
            Issue.record("a wrong token was accepted")
        } catch {
            #expect(error.code == .unauthorized && error.status == 401 && error.id == "unauthorized")
            #expect(error.requestID?.isEmpty == false)
            #expect(!error.description.contains("wrong"), "the token is never in a message")
        }
        #expect(try await sim.requests("GET", "/v2/account") == 1, "a 401 is not retried")
    }

    @Test func aDropletIsNewThenActiveAndOnlyLaterHasItsPublicAddress() async throws {
        let (sim, client) = try await standIn()
        defer { Task { await sim.stop() } }
        let (created, actionID) = try await client.createDroplet(request("box-1", tag: "agentbox-toolbox-one"))
        #expect(created.status == "new" && created.publicIPv4 == nil && actionID != nil)
        var sawActiveWithoutAddress = false
        var ready: Droplet?
        for _ in 0..<100 {
            if let droplet = try await client.droplet(created.id) {
                if droplet.status == "active" && droplet.publicIPv4 == nil { sawActiveWithoutAddress = true }
                if droplet.isReady {
                    ready = droplet
                    break
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(sawActiveWithoutAddress, "active came before the address, and was not taken as ready")
        #expect(ready?.publicIPv4 != nil)
        #expect(try await client.action(try #require(actionID)).status == "completed")
    }

    @Test func aDropletJustAcceptedMayAnswer404ForAWhile() async throws {
        let (sim, client) = try await standIn(["--active-after", "0.3", "--ip-after", "0.3", "--not-found-for", "0.6"])
        defer { Task { await sim.stop() } }
        let created = try await client.createDroplet(request("box-6", tag: "agentbox-toolbox-shy")).droplet
        #expect(try await client.droplet(created.id) == nil, "not visible yet: nil, not an error")
        try await waitFor(client, created.id) { $0.id == created.id }
    }

    @Test func aCreateWhoseConnectionDropsAfterTheDropletExistsMakesExactlyOne() async throws {
        let (sim, client) = try await standIn()
        defer { Task { await sim.stop() } }
        try await sim.inject(["drop_after_create": 1])
        let tag = "agentbox-toolbox-dropped"
        do {
            _ = try await client.createDroplet(request("box-2", tag: tag))
            Issue.record("the dropped connection was not seen")
        } catch {
            #expect(error.code == .unreachable, "\(error)")
        }
        let droplet = try await client.ensureDroplet(request("box-2", tag: tag), tag: tag).droplet
        #expect(try await client.droplets(tag: tag).map(\.id) == [droplet.id])
        #expect(try await sim.requests("POST", "/v2/droplets") == 1, "the create was not repeated: the tag found the droplet")

        // ensureDroplet through a lost answer: it adopts what the lost create made.
        try await sim.inject(["drop_after_create": 1])
        let other = "agentbox-toolbox-lost"
        let adopted = try await client.ensureDroplet(request("box-3", tag: other), tag: other).droplet
        #expect(try await client.droplets(tag: other).map(\.id) == [adopted.id])
        #expect(try await sim.requests("POST", "/v2/droplets") == 2)
    }

    /// Found by the DigitalOcean drill: the create's answer is lost and DigitalOcean does not list the new droplet for
    /// two seconds; creating again after one empty list made a second droplet.
    @Test func aLostCreateWaitsForALateListingInsteadOfCreatingAgain() async throws {
        let (sim, client) = try await standIn()
        defer { Task { await sim.stop() } }
        try await sim.inject(["drop_after_create": 1, "not_found_for_seconds": 2])
        let tag = "agentbox-toolbox-late"
        let droplet = try await client.ensureDroplet(request("box-late", tag: tag), tag: tag).droplet
        #expect(try await sim.requests("POST", "/v2/droplets") == 1, "the create was not repeated")
        #expect(try await client.droplets(tag: tag).map(\.id) == [droplet.id])
    }

    @Test func extrasOfATagAreDeletedAroundTheRecordedDroplet() async throws {
        let (sim, client) = try await standIn()
        defer { Task { await sim.stop() } }
        let tag = "agentbox-toolbox-extras"
        _ = try await client.createDroplet(request("box-old", tag: tag))
        let recorded = try await client.createDroplet(request("box-new", tag: tag)).droplet
        try await client.deleteDroplets(tag: tag, except: recorded.id)
        #expect(try await client.droplets(tag: tag).map(\.id) == [recorded.id])
    }

    @Test func extraDropletsOfATagAreDeletedKeepingTheOldest() async throws {
        let (sim, client) = try await standIn()
        defer { Task { await sim.stop() } }
        let tag = "agentbox-toolbox-twice"
        let first = try await client.createDroplet(request("box-a", tag: tag)).droplet
        _ = try await client.createDroplet(request("box-b", tag: tag))
        let kept = try await client.ensureDroplet(request("box-c", tag: tag), tag: tag).droplet
        #expect(kept.id == first.id)
        #expect(try await client.droplets(tag: tag).map(\.id) == [first.id])
    }

    @Test func a429WithRetryAfterIsWaitedOutAnd5xxAreRetried() async throws {
        let (sim, client) = try await standIn()
        defer { Task { await sim.stop() } }
        try await sim.inject(["rate_limit_burst": ["count": 1, "retry_after": 1]])
        let started = ContinuousClock.now
        _ = try await client.account()
        #expect(ContinuousClock.now - started >= .milliseconds(950), "retry-after 1 s was honoured")
        #expect(try await sim.requests("GET", "/v2/account") == 2)

        try await sim.inject(["fail": [["status": 503, "count": 2, "method": "GET", "path_prefix": "/v2/sizes"]]])
        #expect(try await !client.sizes().isEmpty)
        #expect(try await sim.requests("GET", "/v2/sizes") == 3)

        try await sim.inject(["fail": [["status": 500, "count": 10, "method": "GET", "path_prefix": "/v2/regions"]]])
        do {
            _ = try await client.regions()
            Issue.record("ten 500s in a row were not reported")
        } catch {
            #expect(error.code == .server && error.status == 500 && error.id == "server_error")
        }
        #expect(try await sim.requests("GET", "/v2/regions") == 4, "four tries, then the error")
    }

    @Test func aPlacementThatFailsLaterErrorsTheActionAndTheDropletGoes() async throws {
        let (sim, client) = try await standIn()
        defer { Task { await sim.stop() } }
        try await sim.inject(["placement_failure": ["count": 1, "message": "no capacity in nyc3"]])
        let (created, actionID) = try await client.createDroplet(request("box-4", tag: "agentbox-toolbox-placement"))
        #expect(created.status == "new")
        var action = try await client.action(try #require(actionID))
        for _ in 0..<100 where action.status == "in-progress" {
            try await Task.sleep(for: .milliseconds(50))
            action = try await client.action(try #require(actionID))
        }
        #expect(action.status == "errored")
        #expect(try await client.droplet(created.id) == nil)
    }

    @Test func listsFollowEveryPageAndDeleteByTagLeavesNone() async throws {
        let (sim, client) = try await standIn(pageSize: 2)
        defer { Task { await sim.stop() } }
        let tag = "agentbox-toolbox-many"
        var ids: Set<Int> = []
        for index in 1...5 { ids.insert(try await client.createDroplet(request("box-\(index)", tag: tag)).droplet.id) }
        _ = try await client.createDroplet(request("other", tag: "agentbox-toolbox-else"))
        #expect(Set(try await client.droplets(tag: tag).map(\.id)) == ids)
        #expect(try await sim.requests("GET", "/v2/droplets") == 3, "three pages of two")
        try await client.deleteDroplets(tag: tag)
        #expect(try await client.droplets(tag: tag).isEmpty)
        #expect(try await client.droplets(tag: "agentbox-toolbox-else").count == 1)
        try await client.deleteDroplet(try #require(ids.first))  // gone already: not an error
    }

    @Test func aResizeNeedsTheDropletOff() async throws {
        let (sim, client) = try await standIn(["--active-after", "0.2", "--ip-after", "0.1"])
        defer { Task { await sim.stop() } }
        try await sim.inject(["action_seconds": 0.2])
        let created = try await client.createDroplet(request("box-5", tag: "agentbox-toolbox-resize")).droplet
        try await waitFor(client, created.id) { $0.status == "active" }
        do {
            _ = try await client.act(on: created.id, .resize(size: "s-2vcpu-2gb", disk: false))
            Issue.record("a running droplet was resized")
        } catch {
            #expect(error.code == .unprocessable && error.status == 422)
        }
        let off = try await client.act(on: created.id, .powerOff)
        try await waitForAction(client, off.id)
        try await waitFor(client, created.id) { $0.status == "off" }
        let resize = try await client.act(on: created.id, .resize(size: "s-2vcpu-2gb", disk: false))
        try await waitForAction(client, resize.id)
        try await waitFor(client, created.id) { $0.sizeSlug == "s-2vcpu-2gb" }
        try await waitForAction(client, try await client.act(on: created.id, .powerOn).id)
        try await waitFor(client, created.id) { $0.status == "active" }
    }

    @Test func theRateLimitTrackerSlowsDownBeforeTheLimit() {
        let tracker = RateLimitTracker()
        let now = Date(timeIntervalSince1970: 1_000_000)
        tracker.note(limit: "250", remaining: "200", reset: "1000060")
        #expect(tracker.pause(now: now) == .zero, "plenty left")
        tracker.note(limit: "250", remaining: "4", reset: "1000060")
        #expect(tracker.pause(now: now) == .seconds(12), "the 60 s left are spread over the last requests")
        tracker.note(limit: "250", remaining: "0", reset: "1000030")
        #expect(tracker.pause(now: now) == .seconds(30), "none left: wait for the reset")
    }

    // MARK: - Helpers

    func waitFor(_ client: DigitalOceanClient, _ id: Int, _ condition: (Droplet) -> Bool) async throws {
        for _ in 0..<100 {
            if let droplet = try await client.droplet(id), condition(droplet) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("droplet \(id) did not reach the expected state within 5 s")
    }

    func waitForAction(_ client: DigitalOceanClient, _ id: Int) async throws {
        for _ in 0..<100 {
            if try await client.action(id).status != "in-progress" { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("action \(id) did not end within 5 s")
    }
}

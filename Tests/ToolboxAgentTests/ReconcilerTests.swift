import DockerHost
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import TestSupport
import Testing
import ToolboxProtocol

@testable import ToolboxAgent

/// The reconciler against the real Docker engine and the test registry (scripts/test-services.sh start).
struct ReconcilerTests {
    static let echo1 = "127.0.0.1:5000/agentbox-test/echo:1"
    static let broken = "127.0.0.1:5000/agentbox-test/broken:1"

    @Test func itRunsStopsAndRemovesInstancesAndRemovesOnlyItsOwnOrphans() async throws {
        guard let docker = await DockerTestEngine.client() else { return }
        let toolbox = UUID()
        let other = UUID()
        try await DockerTestEngine.cleaningUp(docker, toolboxes: [toolbox, other]) {
            let reconciler = Reconciler(toolboxID: toolbox, docker: docker)
            let web = DesiredInstance(
                instanceID: UUID(), name: "web", image: Self.echo1, version: "1", containerPort: 8080, hostPort: 39101, memoryMB: 64,
                cpuLimit: 0.5, desired: .running)

            // Another toolbox's container, an orphan of this toolbox, and an unlabelled container.
            let foreign = try await docker.createContainer(Self.spec("agentbox-test-foreign-\(other.uuidString.prefix(8))", toolbox: other))
            let orphan = try await docker.createContainer(Self.spec("agentbox-test-orphan-\(toolbox.uuidString.prefix(8))", toolbox: toolbox))
            let plain = try await docker.createContainer(Self.spec(DockerTestEngine.plainName(toolbox), toolbox: nil))

            let first = await reconciler.converge(DesiredState(toolboxID: toolbox, instances: [web]))
            #expect(first.toolboxID == toolbox && first.health.dockerReachable)
            #expect(first.health.load1 != nil && first.health.memoryAvailableBytes != nil && first.health.diskAvailableBytes != nil)
            let report = try #require(first.instances.first)
            #expect(report.state == .running && report.hostPort == 39101 && report.containerID != nil, "\(report)")
            #expect(await DockerTestEngine.health(port: 39101) == 200)
            let containerID = try #require(report.containerID)
            let info = try #require(try await docker.inspectContainer(containerID))
            #expect(info.name.hasSuffix("agentbox-web-\(web.instanceID.uuidString.lowercased().prefix(8))"))
            #expect(info.labels["agentbox.toolbox"] == toolbox.uuidString.lowercased() && info.labels["agentbox.version"] == "1")

            #expect(try await docker.inspectContainer(orphan) == nil, "the orphan labelled for this toolbox is removed")
            #expect(try await docker.inspectContainer(foreign) != nil, "another toolbox's container is untouched")
            #expect(try await docker.inspectContainer(plain) != nil, "an unlabelled container is untouched")

            // A second pass adopts the running container instead of making another.
            let again = await reconciler.converge(DesiredState(toolboxID: toolbox, instances: [web]))
            #expect(again.instances.first?.containerID == report.containerID && again.instances.first?.state == .running)

            var stopped = web
            stopped.desired = .stopped
            let third = await reconciler.converge(DesiredState(toolboxID: toolbox, instances: [stopped]))
            #expect(third.instances.first?.state == .stopped)
            #expect(try await docker.inspectContainer(containerID)?.state.running == false)
            #expect(await DockerTestEngine.health(port: 39101, attempts: 1) != 200)

            // A container stopped by hand while it should run is started again.
            let fourth = await reconciler.converge(DesiredState(toolboxID: toolbox, instances: [web]))
            #expect(fourth.instances.first?.state == .running && fourth.instances.first?.containerID == report.containerID)
            try await docker.stopContainer(containerID, timeout: 1)
            #expect(await reconciler.converge(DesiredState(toolboxID: toolbox, instances: [web])).instances.first?.state == .running)
            #expect(await DockerTestEngine.health(port: 39101) == 200)

            var absent = web
            absent.desired = .absent
            let fifth = await reconciler.converge(DesiredState(toolboxID: toolbox, instances: [absent]))
            #expect(fifth.instances.first?.state == .absent)
            #expect(try await docker.listContainers(labels: ["agentbox.toolbox": toolbox.uuidString.lowercased()], all: true).isEmpty)
            #expect(try await docker.inspectContainer(foreign) != nil)
        }
    }

    @Test func aBrokenImageAndAMissingTagAreErrorsWithDockersReasonAndTheOtherInstancesStillRun() async throws {
        guard let docker = await DockerTestEngine.client() else { return }
        let toolbox = UUID()
        try await DockerTestEngine.cleaningUp(docker, toolboxes: [toolbox]) {
            let reconciler = Reconciler(toolboxID: toolbox, docker: docker)
            let broken = DesiredInstance(
                instanceID: UUID(), name: "broken", image: Self.broken, version: "1", containerPort: 8080, hostPort: 39111, desired: .running)
            let missing = DesiredInstance(
                instanceID: UUID(), name: "missing", image: "127.0.0.1:5000/agentbox-test/echo:no-such-tag", version: "9", containerPort: 8080,
                hostPort: 39112, desired: .running)
            let good = DesiredInstance(
                instanceID: UUID(), name: "good", image: Self.echo1, version: "1", containerPort: 8080, hostPort: 39113, desired: .running)
            let heartbeat = await reconciler.converge(DesiredState(toolboxID: toolbox, instances: [broken, missing, good]))
            let reports = Dictionary(uniqueKeysWithValues: heartbeat.instances.map { ($0.instanceID, $0) })
            #expect(reports[broken.instanceID]?.state == .error)
            #expect(reports[broken.instanceID]?.lastError?.contains("exited") == true, "\(String(describing: reports[broken.instanceID]))")
            #expect(reports[missing.instanceID]?.state == .error)
            let reason = reports[missing.instanceID]?.lastError ?? ""
            #expect(reason.contains("no-such-tag") || reason.contains("not found") || reason.contains("unknown"), "\(reason)")
            #expect(reports[good.instanceID]?.state == .running)
            #expect(await DockerTestEngine.health(port: 39113) == 200)
        }
    }

    @Test func aContainerThatKeepsCrashingIsRestartedWithBackOffAndARestartRequestRestartsIt() async throws {
        guard let docker = await DockerTestEngine.client() else { return }
        let toolbox = UUID()
        try await DockerTestEngine.cleaningUp(docker, toolboxes: [toolbox]) {
            let events = EventLog()
            let reconciler = Reconciler(toolboxID: toolbox, docker: docker, events: { _, kind, message in events.append(kind, message) })
            var web = DesiredInstance(
                instanceID: UUID(), name: "web", image: Self.echo1, version: "1", containerPort: 8080, hostPort: 39121, desired: .running)
            let state = { DesiredState(toolboxID: toolbox, instances: [web]) }
            let first = try #require(await reconciler.converge(state()).instances.first)
            let id = try #require(first.containerID)
            #expect(first.state == .running)

            // First crash: started again at once.
            try await docker.killContainer(id)
            let again = try #require(await reconciler.converge(state()).instances.first)
            #expect(again.state == .running && again.containerID == id, "\(again)")
            // Second crash: the restart waits a second; the report says so and the instance is not given up.
            try await docker.killContainer(id)
            let waiting = try #require(await reconciler.converge(state()).instances.first)
            #expect(waiting.state == .restarting, "\(waiting)")
            #expect(waiting.lastError?.contains("exited with code 137") == true && waiting.lastError?.contains("restart 2 of 6 in 1.0 s") == true)
            #expect(await reconciler.nextDuePass != nil)
            try await Task.sleep(for: .seconds(1.1))
            let back = try #require(await reconciler.converge(state()).instances.first)
            #expect(back.state == .running, "\(back)")
            #expect(await reconciler.nextDuePass == nil)
            #expect(events.kinds.filter { $0 == "crashed" }.count == 3, "\(events.kinds)")

            // A restart asked for after the container started restarts it; asking again with the same time does nothing.
            let before = try #require(try await docker.inspectContainer(id)?.state.startedAt)
            web.restartRequestedAt = Date()
            let restarted = try #require(await reconciler.converge(state()).instances.first)
            let after = try #require(try await docker.inspectContainer(id)?.state.startedAt)
            #expect(restarted.state == .running && after > before)
            _ = await reconciler.converge(state())
            #expect(try await docker.inspectContainer(id)?.state.startedAt == after)
            #expect(events.kinds.filter { $0 == "restart" }.count == 1)
        }
    }

    @Test func aDeployWhoseRegistryIsDownIsPulledAgainAfterABackOffAndRunsOnceTheRegistryIsBack() async throws {
        guard let docker = await DockerTestEngine.client() else { return }
        let toolbox = UUID()
        // A free port: nothing answers there until the relay to the test registry starts.
        let port = try LoopbackListener(port: 0).port
        let image = "127.0.0.1:\(port)/agentbox-test/echo:1"
        try await DockerTestEngine.cleaningUp(docker, toolboxes: [toolbox]) {
            let events = EventLog()
            let reconciler = Reconciler(toolboxID: toolbox, docker: docker, events: { _, kind, message in events.append(kind, message) })
            let web = DesiredInstance(
                instanceID: UUID(), name: "web", image: image, version: "1", containerPort: 8080, hostPort: 39131, desired: .running)
            let state = DesiredState(toolboxID: toolbox, instances: [web])
            let down = try #require(await reconciler.converge(state).instances.first)
            let reason = down.lastError ?? ""
            #expect(down.state == .deploying && down.desiredVersion == "1", "still deploying, not given up: \(down)")
            #expect(reason.contains("127.0.0.1:\(port)") && reason.contains("pulling again in 1.0 s (attempt 2 of 25)"), "\(reason)")
            let due = try #require(await reconciler.nextDuePass, "a pass is asked for when the back-off ends")

            // A pass before then does not pull again: the same report.
            let early = try #require(await reconciler.converge(state).instances.first)
            #expect(early.state == .deploying && early.lastError == down.lastError)
            #expect(events.kinds.filter { $0 == "error" }.count == 1, "\(events.kinds)")

            // The registry is back at that address: the pass after the back-off pulls and runs it.
            let relay = try LoopbackRelay(port: port, to: TestServices.registry)
            try await Task.sleep(until: due)
            let back = try #require(await reconciler.converge(state).instances.first)
            #expect(back.state == .running && back.lastError == nil, "\(back)")
            #expect(await reconciler.nextDuePass == nil)
            #expect(await DockerTestEngine.health(port: 39131) == 200)
            withExtendedLifetime(relay) {}
        }
        _ = try? await docker.removeImage(image, force: true)
    }

    @Test func anUpgradeWhoseImageCannotBePulledLeavesTheOldContainerServingUntouched() async throws {
        guard let docker = await DockerTestEngine.client() else { return }
        let toolbox = UUID()
        let port = try LoopbackListener(port: 0).port
        try await DockerTestEngine.cleaningUp(docker, toolboxes: [toolbox]) {
            let reconciler = Reconciler(toolboxID: toolbox, docker: docker)
            var web = DesiredInstance(
                instanceID: UUID(), name: "web", image: Self.echo1, version: "1", containerPort: 8080, hostPort: 39151, desired: .running)
            let first = try #require(await reconciler.converge(DesiredState(toolboxID: toolbox, instances: [web])).instances.first)
            let id = try #require(first.containerID)
            let started = try #require(try await docker.inspectContainer(id)?.state.startedAt)

            web.version = "2"
            web.image = "127.0.0.1:\(port)/agentbox-test/echo:2"
            web.rollback = Rollback(version: "1", image: Self.echo1)
            let report = try #require(await reconciler.converge(DesiredState(toolboxID: toolbox, instances: [web])).instances.first)
            #expect(report.state == .running && report.version == "1" && report.desiredVersion == "2" && report.containerID == id, "\(report)")
            #expect(report.lastError?.contains("upgrade to 2 failed") == true && report.lastError?.contains("127.0.0.1:\(port)") == true)
            let after = try #require(try await docker.inspectContainer(id))
            #expect(after.state.running && after.state.startedAt == started, "the old container was never stopped: \(after.state)")
            #expect(try await docker.listContainers(labels: ["agentbox.toolbox": toolbox.uuidString.lowercased()], all: true).count == 1)
        }
    }

    @Test func anOrphanHoldingAPortGoesBeforeTheInstanceNowLeasingThatPortStarts() async throws {
        guard let docker = await DockerTestEngine.client() else { return }
        let toolbox = UUID()
        try await DockerTestEngine.cleaningUp(docker, toolboxes: [toolbox]) {
            let reconciler = Reconciler(toolboxID: toolbox, docker: docker)
            // A pass starts an instance that was deleted meanwhile (its row and port lease went at once)...
            let deleted = DesiredInstance(
                instanceID: UUID(), name: "deleted", image: Self.echo1, version: "1", containerPort: 8080, hostPort: 39141, desired: .running)
            #expect(await reconciler.converge(DesiredState(toolboxID: toolbox, instances: [deleted])).instances.first?.state == .running)
            // ...and the next pass finds its container an orphan, while another instance now leases the same port.
            let next = DesiredInstance(
                instanceID: UUID(), name: "next", image: Self.echo1, version: "1", containerPort: 8080, hostPort: 39141, desired: .running)
            let report = try #require(await reconciler.converge(DesiredState(toolboxID: toolbox, instances: [next])).instances.first)
            #expect(report.state == .running && report.lastError == nil, "\(report)")
            let left = try await docker.listContainers(labels: ["agentbox.toolbox": toolbox.uuidString.lowercased()], all: true)
            #expect(left.map { $0.labels["agentbox.instance"] } == [next.instanceID.uuidString.lowercased()])
        }
    }

    @Test func removingAContainerThatIsGoneOrWhoseRemovalIsUnderWayCountsAsDone() async throws {
        guard let docker = await DockerTestEngine.client() else { return }
        let toolbox = UUID()
        try await DockerTestEngine.cleaningUp(docker, toolboxes: [toolbox]) {
            let reconciler = Reconciler(toolboxID: toolbox, docker: docker)
            let id = try await docker.createContainer(Self.spec("agentbox-test-twice-\(toolbox.uuidString.prefix(8))", toolbox: toolbox))
            try await docker.startContainer(id)
            // Four removals at once: one removes it, the others find it gone (404) or its removal under way (409).
            let failures = await withTaskGroup(of: String?.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        do throws(DockerError) {
                            try await reconciler.discard(id)
                            return nil
                        } catch {
                            return error.message
                        }
                    }
                }
                return await group.reduce(into: [String]()) { if let failure = $1 { $0.append(failure) } }
            }
            #expect(failures.isEmpty, "\(failures)")
            #expect(try await docker.inspectContainer(id) == nil)
        }
    }

    @Test func theProtocolTravelsAsSnakeCaseJSON() throws {
        let desired = DesiredState(
            toolboxID: UUID(),
            instances: [
                DesiredInstance(
                    instanceID: UUID(), name: "a", image: "i", version: "1", containerPort: 8080, hostPort: 29000, memoryMB: 64, cpuLimit: 0.5,
                    desired: .absent)
            ])
        let json = String(decoding: try ToolboxProtocolCoding.encoder().encode(desired), as: UTF8.self)
        #expect(json.contains("\"toolbox_id\"") && json.contains("\"host_port\":29000") && json.contains("\"desired\":\"absent\""))
        #expect(try ToolboxProtocolCoding.decoder().decode(DesiredState.self, from: Data(json.utf8)) == desired)
        let beat = Heartbeat(
            toolboxID: UUID(), agentVersion: "0.1.0", sentAt: Date(timeIntervalSince1970: 1_700_000_000),
            health: HostHealth(load1: 0.5, memoryAvailableBytes: 1, diskAvailableBytes: 2, dockerReachable: true),
            instances: [InstanceReport(instanceID: UUID(), containerID: "c", state: .error, hostPort: 1, imageDigest: "sha256:x", lastError: "boom")])
        let text = String(decoding: try ToolboxProtocolCoding.encoder().encode(beat), as: UTF8.self)
        #expect(text.contains("\"sent_at\":\"2023-11-14T22:13:20Z\"") && text.contains("\"docker_reachable\":true") && text.contains("\"last_error\":\"boom\""))
        #expect(try ToolboxProtocolCoding.decoder().decode(Heartbeat.self, from: Data(text.utf8)) == beat)
    }

    /// A container of the echo image, labelled for `toolbox` (or not labelled at all), without a published port.
    static func spec(_ name: String, toolbox: UUID?) -> ContainerSpec {
        var labels: [String: String] = [:]
        if let toolbox {
            labels = ["agentbox.toolbox": toolbox.uuidString.lowercased(), "agentbox.instance": UUID().uuidString.lowercased()]
        } else {
            labels = ["agentbox.test": name]
        }
        return ContainerSpec(name: name, image: echo1, labels: labels, containerPort: 8080, hostPort: 0)
    }
}

/// The local engine for tests: absent fails the test under CI=true and skips it otherwise; and cleanup by label.
enum DockerTestEngine {
    static let socket = ProcessInfo.processInfo.environment["AGENTBOX_DOCKER_SOCKET"] ?? "/var/run/docker.sock"

    static func client() async -> DockerClient? {
        let docker = DockerClient(socketPath: socket)
        do {
            try await docker.ping()
            if try await docker.inspectImage(ReconcilerTests.echo1) == nil {
                try await docker.pullImage(ReconcilerTests.echo1, auth: nil, progress: { _ in })
            }
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

    /// The name (and `agentbox.test` label) of a test's unlabelled container.
    static func plainName(_ toolbox: UUID) -> String { "agentbox-test-plain-\(toolbox.uuidString.lowercased().prefix(8))" }

    /// Runs `body`, then removes every container labelled for `toolboxes`, whether `body` failed or not.
    static func cleaningUp(_ docker: DockerClient, toolboxes: [UUID], _ body: () async throws -> Void) async throws {
        var failure: (any Error)?
        do { try await body() } catch { failure = error }
        for toolbox in toolboxes {
            var left = (try? await docker.listContainers(labels: ["agentbox.toolbox": toolbox.uuidString.lowercased()], all: true)) ?? []
            left += (try? await docker.listContainers(labels: ["agentbox.test": plainName(toolbox)], all: true)) ?? []
            for container in left { try? await docker.removeContainer(container.id, force: true) }
        }
        if let failure { throw failure }
    }

    /// The status of `GET /health` on a loopback port, trying for a few seconds; 0 when nothing answers.
    static func health(port: Int, attempts: Int = 40) async -> Int {
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

/// The events a reconciler emitted, in order.
final class EventLog: Sendable {
    private let entries = Mutex<[(kind: String, message: String)]>([])

    func append(_ kind: String, _ message: String) {
        entries.withLock { $0.append((kind, message)) }
    }

    var kinds: [String] { entries.withLock { $0.map(\.kind) } }
}

import Foundation
import Services
import Storage
import TestSupport
import Testing
import ToolboxProtocol

/// The backend's side of the DTMA protocol: desired state from the database, heartbeats through the state machine.
struct ToolboxControlTests {
    private func beat(_ toolbox: UUID, _ reports: [InstanceReport], reachable: Bool = true) -> Heartbeat {
        Heartbeat(
            toolboxID: toolbox, agentVersion: "test", sentAt: Date(timeIntervalSince1970: 1_700_000_000),
            health: HostHealth(dockerReachable: reachable), instances: reports)
    }

    /// A bed with a tool, ada's local toolbox and an instance `web` of the tool on it, pending deploy.
    private func world() async throws -> (CatalogTestBed, ToolCatalogEntry, AccountToolEnvironment, ToolboxControl, AccountToolInstance) {
        let bed = try await CatalogTestBed.make()
        let tool = try await bed.tool()
        let toolbox = try await bed.toolbox(owner: bed.ada)
        let web = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "web", config: nil, by: bed.ada)
        return (bed, tool, toolbox, bed.plane.toolboxControl, web)
    }

    @Test func aQuietBeatOnlyStampsTheToolboxASecondLaterWhileABeatThatChangesSomethingIsWrittenAtOnce() async throws {
        let (bed, _, toolbox, control, web) = try await world()
        let port = try #require(try await control.desiredState(toolbox.id).instances.first?.hostPort)
        let running = beat(toolbox.id, [InstanceReport(instanceID: web.id, containerID: "c1", state: .running, hostPort: port)])
        try await control.ingest(running)
        let first = try #require(try await bed.database.fetchAccountToolEnvironment(id: toolbox.id)?.lastHeartbeatAt)
        let instanceAfterFirst = try #require(try await bed.database.fetchAccountToolInstance(id: web.id))
        let auditAfterFirst = try await bed.audit(of: web.id).count

        // The same beat again changes nothing but the toolbox's heartbeat time: no row is written yet.
        try await Task.sleep(for: .milliseconds(5))
        let desired = try await control.exchange(running)
        #expect(desired == (try await control.desiredState(toolbox.id)), "a quiet beat is answered with the desired state")
        #expect(try await bed.database.fetchAccountToolEnvironment(id: toolbox.id)?.lastHeartbeatAt == first)
        #expect(try await bed.database.fetchAccountToolInstance(id: web.id) == instanceAfterFirst)
        // ... until the stamps are written, within a second, and nothing else changed.
        var stamped: Date?
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            stamped = try await bed.database.fetchAccountToolEnvironment(id: toolbox.id)?.lastHeartbeatAt
            if let stamped, stamped > first { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(stamped.map { $0 > first } == true, "the quiet beat's time reached the database")
        #expect(try await bed.database.fetchAccountToolInstance(id: web.id) == instanceAfterFirst)
        #expect(try await bed.audit(of: web.id).count == auditAfterFirst)

        // A beat that reports a change takes the full path at once.
        try await control.ingest(beat(toolbox.id, [InstanceReport(instanceID: web.id, state: .error, lastError: "OOMKilled")]))
        let failed = try #require(try await bed.database.fetchAccountToolInstance(id: web.id))
        #expect(failed.statusOnToolbox == .error && failed.statusDetail == "OOMKilled")
    }

    @Test func desiredStateFollowsStatusesAndHeartbeatsMoveInstancesThroughTheStateMachine() async throws {
        let (bed, tool, toolbox, control, web) = try await world()
        let bad = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "bad", config: nil, by: bed.ada)
        #expect(try await control.activeLocalToolboxIDs().contains(toolbox.id))

        let desired = try await control.desiredState(toolbox.id)
        #expect(desired.toolboxID == toolbox.id && desired.instances.map(\.desired) == [.running, .running])
        let wanted = try #require(desired.instances.first { $0.instanceID == web.id })
        #expect(wanted.image == tool.dockerImageURL && wanted.containerPort == 8080 && wanted.version == "1.0.0" && wanted.name == "web")

        try await control.ingest(beat(toolbox.id, [
            InstanceReport(instanceID: web.id, containerID: "c1", state: .running, hostPort: wanted.hostPort),
            InstanceReport(instanceID: bad.id, state: .error, lastError: "manifest unknown"),
            InstanceReport(instanceID: UUID(), state: .running),
        ]))
        let running = try #require(try await bed.database.fetchAccountToolInstance(id: web.id))
        #expect(running.statusOnToolbox == .running && running.lastHeartbeatFromDTMA == Date(timeIntervalSince1970: 1_700_000_000))
        let failed = try #require(try await bed.database.fetchAccountToolInstance(id: bad.id))
        #expect(failed.statusOnToolbox == .error && failed.statusDetail == "manifest unknown")
        #expect(try await bed.database.fetchAccountToolEnvironment(id: toolbox.id)?.reachability == .reachable)
        let actions = try await bed.audit(of: web.id).map(\.action)
        #expect(actions.filter { $0 == "instance.status" }.count == 2, "pending_deploy -> deploying -> running, audited: \(actions)")

        // Stopped and failed instances should not run; a deleted running one should have no container.
        _ = try await bed.plane.instances.request(.stop, web.id, by: bed.ada)
        #expect(try await control.desiredState(toolbox.id).instances.map(\.desired) == [.stopped, .stopped])
        _ = try await bed.plane.instances.request(.start, web.id, by: bed.ada)
        guard case .pending = try await bed.plane.instances.delete(web.id, by: bed.ada) else {
            Issue.record("deleting a running instance waits for its toolbox")
            return
        }
        #expect(try await control.desiredState(toolbox.id).instances.first { $0.instanceID == web.id }?.desired == .absent)
        try await control.ingest(beat(toolbox.id, [InstanceReport(instanceID: web.id, state: .absent)], reachable: false))
        #expect(try await bed.database.fetchAccountToolInstance(id: web.id) == nil, "the row goes once its container is gone")
        #expect(try await bed.database.fetchAccountToolEnvironment(id: toolbox.id)?.reachability == .unreachable)
        #expect(try await control.desiredState(toolbox.id).instances.map(\.instanceID) == [bad.id])
    }

    @Test func anUpgradeCarriesItsRollbackTargetAndTheReportSettlesItEitherWay() async throws {
        let (bed, tool, toolbox, control, web) = try await world()
        try await control.ingest(beat(toolbox.id, [InstanceReport(instanceID: web.id, state: .running, version: "1.0.0")]))
        let conflict = await #expect(throws: ServiceError.self) { _ = try await bed.plane.instances.upgrade(web.id, by: bed.ada) }
        #expect(conflict?.code == .conflict && conflict?.message.contains("already runs") == true)

        // The catalog moves on: the running instance keeps its own image until it is upgraded.
        _ = try await bed.plane.catalog.update(tool.id, .init(dockerImageURL: "ghcr.io/acme/gmail:2.0.0", version: "2.0.0"), by: bed.admin)
        #expect(try await control.desiredState(toolbox.id).instances.first?.image == tool.dockerImageURL)
        let upgrading = try await bed.plane.instances.upgrade(web.id, by: bed.ada)
        #expect(upgrading.version == "2.0.0" && upgrading.previousVersion == "1.0.0" && upgrading.imageRef == "ghcr.io/acme/gmail:2.0.0")
        let again = await #expect(throws: ServiceError.self) { _ = try await bed.plane.instances.upgrade(web.id, by: bed.ada) }
        #expect(again?.code == .invalidState)
        let desired = try #require(try await control.desiredState(toolbox.id).instances.first)
        #expect(desired.image == "ghcr.io/acme/gmail:2.0.0" && desired.rollback == Rollback(version: "1.0.0", image: tool.dockerImageURL))

        // The toolbox rolled back: the instance is on 1.0.0 again, running, with the reason.
        try await control.ingest(beat(toolbox.id, [
            InstanceReport(instanceID: web.id, state: .running, version: "1.0.0", lastError: "upgrade to 2.0.0 failed: exited; rolled back to 1.0.0")
        ]))
        let rolledBack = try #require(try await bed.database.fetchAccountToolInstance(id: web.id))
        #expect(rolledBack.version == "1.0.0" && rolledBack.imageRef == tool.dockerImageURL && rolledBack.previousVersion == nil)
        #expect(rolledBack.statusOnToolbox == .running && rolledBack.statusDetail?.contains("rolled back") == true)
        #expect(try await control.desiredState(toolbox.id).instances.first?.rollback == nil)

        // A second try that works keeps the new version.
        _ = try await bed.plane.instances.upgrade(web.id, by: bed.ada)
        try await control.ingest(beat(toolbox.id, [InstanceReport(instanceID: web.id, state: .running, version: "2.0.0")]))
        let upgraded = try #require(try await bed.database.fetchAccountToolInstance(id: web.id))
        #expect(upgraded.version == "2.0.0" && upgraded.previousVersion == nil && upgraded.statusDetail == nil)
        let actions = try await bed.audit(of: web.id).map(\.action)
        #expect(actions.filter { $0.hasPrefix("instance.upgrade") } == ["instance.upgrade", "instance.upgrade_rolled_back", "instance.upgrade", "instance.upgraded"])

        // Disabled in the catalog: no more upgrades, and the instance is flagged.
        _ = try await bed.plane.catalog.update(tool.id, .init(version: "3.0.0", isEnabled: false), by: bed.admin)
        let disabled = await #expect(throws: ServiceError.self) { _ = try await bed.plane.instances.upgrade(web.id, by: bed.ada) }
        #expect(disabled?.code == .unprocessable)
        #expect(try await bed.plane.instances.disabledTools(among: [upgraded]) == [tool.id])
    }

    @Test func aReportFromAPassThatBeganBeforeTheUpgradeWasAskedSettlesNothing() async throws {
        let (bed, tool, toolbox, control, web) = try await world()
        try await control.ingest(beat(toolbox.id, [InstanceReport(instanceID: web.id, state: .running, version: "1.0.0", desiredVersion: "1.0.0")]))
        _ = try await bed.plane.catalog.update(tool.id, .init(dockerImageURL: "ghcr.io/acme/gmail:2.0.0", version: "2.0.0"), by: bed.admin)
        _ = try await bed.plane.instances.upgrade(web.id, by: bed.ada)

        // The pass under way when the upgrade was asked reports the old version, as it was asked to: no rollback.
        try await control.ingest(beat(toolbox.id, [InstanceReport(instanceID: web.id, state: .running, version: "1.0.0", desiredVersion: "1.0.0")]))
        let pending = try #require(try await bed.database.fetchAccountToolInstance(id: web.id))
        #expect(pending.version == "2.0.0" && pending.previousVersion == "1.0.0", "the upgrade is still to be made: \(pending)")
        #expect(try await control.desiredState(toolbox.id).instances.first?.rollback == Rollback(version: "1.0.0", image: tool.dockerImageURL))

        // The pass asked to run 2.0.0 that still runs 1.0.0 rolled back.
        try await control.ingest(beat(toolbox.id, [
            InstanceReport(instanceID: web.id, state: .running, version: "1.0.0", lastError: "upgrade to 2.0.0 failed", desiredVersion: "2.0.0")
        ]))
        let rolledBack = try #require(try await bed.database.fetchAccountToolInstance(id: web.id))
        #expect(rolledBack.version == "1.0.0" && rolledBack.previousVersion == nil, "\(rolledBack)")
    }

    @Test func aDeployWaitingForItsRegistryStaysDeployingWithTheReason() async throws {
        let (bed, _, toolbox, control, web) = try await world()
        let waiting = "docker pull ghcr.io/acme/gmail:1.0.0: connection refused; pulling again in 2.0 s (attempt 3 of 25)"
        try await control.ingest(beat(toolbox.id, [InstanceReport(instanceID: web.id, state: .deploying, lastError: waiting)]))
        let deploying = try #require(try await bed.database.fetchAccountToolInstance(id: web.id))
        #expect(deploying.statusOnToolbox == .deploying && deploying.statusDetail == waiting)
        #expect(try await control.desiredState(toolbox.id).instances.first?.desired == .running, "it is still meant to run")
        try await control.ingest(beat(toolbox.id, [InstanceReport(instanceID: web.id, state: .running)]))
        let running = try #require(try await bed.database.fetchAccountToolInstance(id: web.id))
        #expect(running.statusOnToolbox == .running && running.statusDetail == nil)
    }

    @Test func restartsCrashNotesAndEventsReachTheDatabase() async throws {
        let (bed, _, toolbox, control, web) = try await world()
        try await control.ingest(beat(toolbox.id, [InstanceReport(instanceID: web.id, state: .running)]))

        // A restart of a running instance is a marker the toolbox acts on, not a status change.
        #expect(try await control.desiredState(toolbox.id).instances.first?.restartRequestedAt == nil)
        let restarted = try await bed.plane.instances.request(.restart, web.id, by: bed.ada)
        #expect(restarted.statusOnToolbox == .running && restarted.restartRequestedAt != nil)
        #expect(try await control.desiredState(toolbox.id).instances.first?.restartRequestedAt == restarted.restartRequestedAt)

        // A crash waiting for its restart leaves the instance running, with the reason; the next good report clears it.
        try await control.ingest(beat(toolbox.id, [InstanceReport(instanceID: web.id, state: .restarting, lastError: "exited with code 1; restart 2 of 6 in 1.0 s")]))
        let crashing = try #require(try await bed.database.fetchAccountToolInstance(id: web.id))
        #expect(crashing.statusOnToolbox == .running && crashing.statusDetail?.contains("restart 2 of 6") == true)
        try await control.ingest(beat(toolbox.id, [InstanceReport(instanceID: web.id, state: .running)]))
        #expect(try await bed.database.fetchAccountToolInstance(id: web.id)?.statusDetail == nil)

        // Events: stored in order, the oldest dropped beyond the limit, ignored for instances that are gone.
        let many = (0..<(InstanceEvent.keptPerInstance + 5)).map { InstanceEvent(accountToolInstanceID: web.id, kind: "pull", message: "line \($0)") }
        try await control.record(many + [InstanceEvent(accountToolInstanceID: UUID(), kind: "pull", message: "nobody")])
        let kept = try await bed.plane.instances.events(web.id, after: nil, limit: PageRequest.maximumLimit, by: bed.ada)
        #expect(kept.count == InstanceEvent.keptPerInstance && kept.first?.message == "line 5" && kept.last?.message == "line 204")
        let newest = try #require(kept.last?.id)
        #expect(try await bed.plane.instances.events(web.id, after: newest - 2, limit: 50, by: bed.ada).map(\.message) == ["line 203", "line 204"])
        await #expect(throws: ServiceError.self) { _ = try await bed.plane.instances.events(web.id, after: nil, limit: 10, by: bed.bob) }
    }
}

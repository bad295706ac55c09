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

    @Test func desiredStateFollowsStatusesAndHeartbeatsMoveInstancesThroughTheStateMachine() async throws {
        let bed = try await CatalogTestBed.make()
        let tool = try await bed.tool()
        let toolbox = try await bed.toolbox(owner: bed.ada)
        let control = bed.plane.toolboxControl
        let web = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "web", config: nil, by: bed.ada)
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
}

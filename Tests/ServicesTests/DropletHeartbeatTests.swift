import Foundation
import Services
import Storage
import TestSupport
import Testing
import ToolboxProtocol

/// Heartbeats of droplets' DTMAs: the first one makes a provisioning toolbox active, each keeps the agent's version,
/// note and time, and a droplet silent for longer than the grace period turns unreachable until it beats again.
struct DropletHeartbeatTests {
    /// A DigitalOcean toolbox of Ada's whose droplet is up and whose agent has enrolled.
    private func provisioningDroplet(_ bed: CatalogTestBed) async throws -> AccountToolEnvironment {
        guard case .user(let ada) = bed.ada else { throw TestEnvironmentFailure("ada is a user") }
        return try await bed.database.insert(
            AccountToolEnvironment(
                userID: ada.id, dropletID: 500_000_001, name: "cloud", region: "nyc3", sizeSlug: "s-1vcpu-1gb", status: .provisioning,
                publicIPAddress: "203.0.113.7", provider: .digitalocean, statusDetail: "its agent enrolled; waiting for its first heartbeat"))
    }

    private func beat(_ toolbox: UUID, version: String = "0.1.0", note: String? = nil) -> Heartbeat {
        Heartbeat(toolboxID: toolbox, agentVersion: version, sentAt: Date(), health: HostHealth(dockerReachable: true), instances: [], agentNote: note)
    }

    @Test func theFirstHeartbeatMakesTheToolboxActiveAndEachKeepsTheAgentsVersionAndNote() async throws {
        let bed = try await CatalogTestBed.make()
        let droplet = try await provisioningDroplet(bed)
        let control = bed.plane.toolboxControl
        try await control.ingest(beat(droplet.id))
        let active = try #require(try await bed.database.fetchAccountToolEnvironment(id: droplet.id))
        #expect(active.status == .active && active.reachability == .reachable && active.agentVersion == "0.1.0")
        #expect(active.statusDetail == "its agent enrolled and sent its first heartbeat" && active.lastHeartbeatAt != nil)

        try await control.ingest(beat(droplet.id, version: "0.2.0", note: "update to 0.3.0 failed: its self-test exited 3; still running 0.2.0"))
        let noted = try #require(try await bed.database.fetchAccountToolEnvironment(id: droplet.id))
        #expect(noted.status == .active && noted.agentVersion == "0.2.0" && noted.statusDetail?.hasPrefix("update to 0.3.0 failed") == true)
        let actions = try await bed.audit(of: droplet.id).map(\.action)
        #expect(actions.contains("toolbox.status") && actions.filter { $0 == "toolbox.agent_version" }.count == 2 && actions.contains("toolbox.agent_note"))
    }

    @Test func aDeprovisioningDropletsLastBeatsDoNotArchiveItBeforeItsDropletIsDeleted() async throws {
        let bed = try await CatalogTestBed.make()
        let droplet = try await provisioningDroplet(bed)
        let control = bed.plane.toolboxControl
        try await control.ingest(beat(droplet.id))
        let deprovisioning = try await bed.plane.toolboxes.deprovision(droplet.id, cascade: true, by: bed.ada)
        #expect(deprovisioning.status == .deprovisioning)
        // Its DTMA, with no container left, keeps beating until the droplet is gone: the toolbox waits for the provisioner.
        try await control.ingest(beat(droplet.id))
        let after = try #require(try await bed.database.fetchAccountToolEnvironment(id: droplet.id))
        #expect(after.status == .deprovisioning, "only the provisioner archives a droplet's toolbox, after deleting the droplet")
    }

    @Test func aSilentDropletTurnsUnreachableOnceAfterTheGraceAndBackWithItsNextBeat() async throws {
        let bed = try await CatalogTestBed.make()
        let droplet = try await provisioningDroplet(bed)
        let control = bed.plane.toolboxControl
        try await control.ingest(beat(droplet.id))
        // Within the grace period nothing changes; after it, the toolbox turns unreachable, once.
        #expect(try await control.markSilentToolboxesUnreachable(grace: .seconds(60)).isEmpty)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await control.markSilentToolboxesUnreachable(grace: .milliseconds(200)) == [droplet.id])
        #expect(try await control.markSilentToolboxesUnreachable(grace: .milliseconds(200)).isEmpty)
        let silent = try #require(try await bed.database.fetchAccountToolEnvironment(id: droplet.id))
        #expect(silent.reachability == .unreachable && silent.status == .active)
        // A local toolbox has no droplet to hear from: it is never turned by this check.
        let local = try await bed.toolbox(owner: bed.ada)
        try await control.ingest(beat(local.id))
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await control.markSilentToolboxesUnreachable(grace: .milliseconds(200)).isEmpty)

        try await control.ingest(beat(droplet.id))
        #expect(try await bed.database.fetchAccountToolEnvironment(id: droplet.id)?.reachability == .reachable)
        let turns = try await bed.audit(of: droplet.id).filter { $0.action == "toolbox.reachability" }.count
        #expect(turns == 3, "unknown -> reachable -> unreachable -> reachable")
    }
}

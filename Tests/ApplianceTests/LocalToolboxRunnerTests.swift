import DockerHost
import Foundation
import Logging
import Services
import Storage
import TestSupport
import Testing
import ToolboxAgent

@testable import Appliance

/// The appliance's own DTMA runs local toolboxes only: a change signal or a Docker event naming a droplet's toolbox
/// must not start that toolbox's tools on the appliance's engine (found by the secret-hygiene drill, where a droplet's
/// instance also ran on the appliance host).
struct LocalToolboxRunnerTests {
    @Test func aPassForADropletsToolboxRunsNothingHere() async throws {
        let test = try await TestBackend.make()
        let chain = try await Fixtures.seedChain(test.database)
        let database = test.database
        var tool = try #require(try await database.fetchToolCatalogEntry(id: chain.toolID))
        tool.dockerImageURL = "\(TestServices.registry)/agentbox-test/echo:1"
        try await database.update(tool)
        var toolbox = try #require(try await database.fetchAccountToolEnvironment(id: chain.toolboxID))
        toolbox.provider = .digitalocean
        toolbox.dropletID = 1
        try await database.update(toolbox)
        let plane = ControlPlane(backend: test.backend)
        let docker = DockerClient(socketPath: TestServices.dockerSocket)
        let runner = LocalToolboxRunner(control: plane.toolboxControl, docker: docker, interval: .seconds(60), logger: Logger(label: "test"))
        let label = [ContainerNaming.toolbox: chain.toolboxID.uuidString.lowercased()]
        await runner.pass(chain.toolboxID)
        let ran = try await docker.listContainers(labels: label, all: true)
        for container in ran { try await docker.removeContainer(container.id, force: true) }
        #expect(ran.isEmpty, "a droplet's tool ran on the appliance's engine")
        let after = try #require(try await database.fetchAccountToolEnvironment(id: chain.toolboxID))
        #expect(after.lastHeartbeatAt == nil, "the local DTMA heartbeated for a droplet's toolbox")
    }
}

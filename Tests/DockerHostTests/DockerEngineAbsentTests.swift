import DockerHost
import Foundation
import TestSupport
import Testing

/// Without an engine: the message says what to do. Needs no Docker.
struct DockerEngineAbsentTests {
    @Test func anAbsentEngineIsUnreachableWithAHint() async throws {
        let folder = try TemporaryDirectory("agentbox-docker")
        let docker = DockerClient(socketPath: folder.appending("docker.sock"))
        let ping = try #require(await dockerError { try await docker.ping() })
        #expect(ping.code == .engineUnreachable)
        #expect(ping.message.contains(folder.appending("docker.sock")), "\(ping.message)")
        #expect(ping.message.contains("systemctl start docker"), "\(ping.message)")
        #expect(ping.status == nil)

        let create = try #require(await dockerError { _ = try await docker.createContainer(ContainerSpec(name: "x", image: "y", containerPort: 1, hostPort: 2)) })
        #expect(create.code == .engineUnreachable, "the API version check fails the same way: \(create)")
        #expect(create.message.hasPrefix("docker create x"), "\(create.message)")

        var events = docker.events(labels: [:]).makeAsyncIterator()
        let failure = await #expect(throws: DockerError.self) { _ = try await events.next() }
        #expect(failure?.code == .engineUnreachable)
    }
}

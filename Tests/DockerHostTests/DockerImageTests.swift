import DockerHost
import Foundation
import TestSupport
import Testing

/// Pulls from the real registries that scripts/test-services.sh runs.
@Suite(needsDocker)
struct DockerImageTests {
    let docker = DockerClient(socketPath: TestServices.dockerSocket)

    @Test func pingAndVersionAgreeOnAnAPIVersion() async throws {
        try await docker.ping()
        let version = try await docker.version()
        let offered = try #require(APIVersion(version.apiVersion))
        #expect(offered >= DockerClient.oldestAPIVersion, "engine \(version.version) speaks API \(version.apiVersion)")
        #expect(docker.apiVersion == min(offered, DockerClient.newestAPIVersion))
        #expect(version.os == "linux")
        #expect(!version.version.isEmpty)
    }

    @Test func aPullReportsProgressAndTheImageHasItsRegistryDigest() async throws {
        let progress = Collected<PullProgress>()
        let image = TestServices.image("echo:1")
        try await docker.pullImage(image, auth: nil) { progress.append($0) }
        #expect(!progress.all.isEmpty, "the engine's progress lines reach the caller")
        #expect(progress.all.contains { $0.status.hasPrefix("Status:") }, "\(progress.all.map(\.status))")
        let info = try #require(try await docker.inspectImage(image))
        #expect(info.id.hasPrefix("sha256:"))
        let repository = "\(TestServices.registry)/agentbox-test/echo"
        let digest = try #require(info.digest(in: repository), "\(info.repoDigests)")
        #expect(digest.hasPrefix("sha256:"))
        #expect(info.repoTags.contains(image))

        try await docker.pullImage(TestServices.image("echo:2"), auth: nil) { _ in }
        let second = try #require(try await docker.inspectImage(TestServices.image("echo:2")))
        #expect(second.id != info.id)
        #expect(second.digest(in: repository) != digest, "echo:2 has a digest of its own")
        #expect(try await docker.inspectImage("\(repository)@\(digest)")?.id == info.id, "an image is found by its digest")
    }

    @Test func anAbsentImageInspectsAsNil() async throws {
        #expect(try await docker.inspectImage("agentbox-test/never-built:\(UUID().uuidString.lowercased())") == nil)
    }

    @Test func aMissingTagFailsWithDockersMessage() async throws {
        let error = try #require(await dockerError { try await docker.pullImage(TestServices.image("echo:no-such-tag"), auth: nil) { _ in } })
        #expect(error.code == .pullFailed)
        #expect(error.message.contains("manifest unknown") || error.message.contains("not found"), "\(error.message)")
        #expect(error.message.contains("echo:no-such-tag"), "the message names the image: \(error.message)")
        #expect(!error.isRegistryOutage, "an unknown tag is not worth pulling again")
        #expect(error.dockerMessage != nil)
        #expect(error.status == 404)
    }

    @Test func anUnreachableRegistryFailsWithDockersMessage() async throws {
        let error = try #require(await dockerError { try await docker.pullImage("127.0.0.1:5999/agentbox-test/echo:1", auth: nil) { _ in } })
        #expect(error.code == .pullFailed)
        #expect(error.message.contains("127.0.0.1:5999"), "\(error.message)")
        #expect(error.message.contains("connection refused"), "Docker's own reason: \(error.message)")
        #expect(error.isRegistryOutage, "a registry that refuses connections may come back")
    }

    @Test func thePrivateRegistryNeedsTheRightCredentials() async throws {
        let image = TestServices.privateImage
        let without = try #require(await dockerError { try await docker.pullImage(image, auth: nil) { _ in } })
        #expect(without.code == .pullFailed)
        #expect(without.message.lowercased().contains("auth"), "\(without.message)")

        let wrongPassword = "wrong-\(UUID().uuidString)"
        let wrongAuth = RegistryAuth(username: TestServices.registryUser, password: wrongPassword, serveraddress: TestServices.privateRegistry)
        let wrong = try #require(await dockerError { try await docker.pullImage(image, auth: wrongAuth) { _ in } })
        #expect(wrong.code == .pullFailed)
        #expect(wrong.message.contains("authentication") || wrong.message.contains("unauthorized"), "\(wrong.message)")
        #expect(!wrong.message.contains(wrongPassword), "a password never appears in an error")
        #expect(!wrong.description.contains(wrongPassword))
        #expect(!without.isRegistryOutage && !wrong.isRegistryOutage, "a refused login is not worth pulling again")

        let password = try TestServices.registryPassword()
        let auth = RegistryAuth(username: TestServices.registryUser, password: password, serveraddress: TestServices.privateRegistry)
        let progress = Collected<PullProgress>()
        try await docker.pullImage(image, auth: auth) { progress.append($0) }
        #expect(try await docker.inspectImage(image) != nil)
        #expect(!progress.all.contains { "\($0)".contains(password) })

        let again = try #require(await dockerError { try await docker.pullImage(image, auth: nil) { _ in } })
        #expect(again.code == .pullFailed, "the engine kept no credential from the successful pull")
    }
}

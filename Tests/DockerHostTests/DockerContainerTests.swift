import DockerHost
import Foundation
import TestSupport
import Testing

/// Containers on the real engine, reached only through ports published on 127.0.0.1.
@Suite(needsDocker)
struct DockerContainerTests {
    @Test func aContainerRunsAnswersStopsRestartsAndGoes() async throws {
        try await withDockerScope { scope in
            let docker = scope.docker
            let image = try await pullTestImage(docker, "echo:1")
            let port = try TestServices.freeLoopbackPort()
            var spec = scope.spec(image, hostPort: port, labels: ["agentbox.instance": "instance-1"])
            spec.memoryBytes = 64 << 20
            spec.nanoCPUs = 500_000_000
            spec.readOnlyRootFilesystem = true
            spec.restartPolicy = .onFailure(2)
            let id = try await docker.createContainer(spec)
            #expect(id.count == 64)

            let created = try #require(try await docker.inspectContainer(id))
            #expect(created.state.status == "created")
            #expect(created.state.startedAt == nil)

            try await docker.startContainer(id)
            try await docker.startContainer(id)  // already running: nothing to do
            #expect(await waitForHTTP200("http://127.0.0.1:\(port)/health") == 200)

            let info = try #require(try await docker.inspectContainer(id))
            #expect(info.id == id)
            #expect(info.name == spec.name)
            #expect(info.image == image)
            #expect(info.imageID.hasPrefix("sha256:"))
            #expect(info.state.running)
            #expect(info.state.status == "running")
            #expect(info.state.startedAt.map { abs($0.timeIntervalSinceNow) < 120 } == true, "\(String(describing: info.state.startedAt))")
            #expect(info.labels["agentbox.instance"] == "instance-1")
            #expect(info.labels[TestServices.containerLabel] == scope.id)
            #expect(info.hostConfig.securityOptions.contains("no-new-privileges"))
            #expect(info.hostConfig.capabilitiesDropped == ["ALL"])
            #expect(info.hostConfig.memoryBytes == 64 << 20)
            #expect(info.hostConfig.nanoCPUs == 500_000_000)
            #expect(info.hostConfig.readOnlyRootFilesystem)
            #expect(info.hostConfig.restartPolicy == "on-failure")
            #expect(info.hostConfig.maximumRetryCount == 2)
            #expect(info.portBindings == [PortBinding(containerPort: 8080, hostIP: "127.0.0.1", hostPort: port)])
            #expect(info.publishedPorts == [PortBinding(containerPort: 8080, hostIP: "127.0.0.1", hostPort: port)])
            #expect(info.environment.allSatisfy { $0.hasPrefix("PATH=") }, "no variable but the engine's PATH: \(info.environment)")

            try await docker.stopContainer(id, timeout: 2)
            try await docker.stopContainer(id, timeout: 2)  // already stopped: nothing to do
            let stopped = try #require(try await docker.inspectContainer(id))
            #expect(!stopped.state.running)
            #expect(stopped.state.status == "exited")
            #expect(stopped.state.finishedAt != nil)
            #expect(stopped.portBindings == info.portBindings, "the configured binding survives a stop")

            try await docker.restartContainer(id, timeout: 2)
            #expect(try await docker.inspectContainer(id)?.state.running == true)
            #expect(await waitForHTTP200("http://127.0.0.1:\(port)/health") == 200)

            try await docker.removeContainer(id, force: true)
            #expect(try await docker.inspectContainer(id) == nil)
            let gone = await dockerError { try await docker.removeContainer(id, force: true) }
            #expect(gone?.code == .notFound, "\(String(describing: gone))")
        }
    }

    @Test func theEnvironmentHoldsOnlyWhatTheSpecGives() async throws {
        try await withDockerScope { scope in
            let docker = scope.docker
            let image = try await pullTestImage(docker, "echo:1")
            var spec = scope.spec(image, hostPort: 0)
            spec.environment = ["TOOL_MODE": "plain"]
            let id = try await docker.createContainer(spec)
            let info = try #require(try await docker.inspectContainer(id))
            #expect(info.environment.filter { !$0.hasPrefix("PATH=") } == ["TOOL_MODE=plain"])
            // The image's own labels (its version, the test images' recipe) show too, beside the spec's.
            let imageLabels: Set = ["org.opencontainers.image.version", "agentbox-test.recipe"]
            #expect(info.labels.filter { !imageLabels.contains($0.key) } == scope.labels())
            #expect(info.labels["org.opencontainers.image.version"] == "1")

            // hostPort 0: the engine picks a free port when the container starts.
            try await docker.startContainer(id)
            let running = try #require(try await docker.inspectContainer(id))
            let published = try #require(running.publishedPorts.first)
            #expect(published.hostIP == "127.0.0.1")
            #expect(published.hostPort > 0)
            #expect(await waitForHTTP200("http://127.0.0.1:\(published.hostPort)/health") == 200)
        }
    }

    @Test func listingByLabelFindsExactlyTheseContainers() async throws {
        try await withDockerScope { scope in
            try await withDockerScope { other in
                let docker = scope.docker
                let image = try await pullTestImage(docker, "echo:1")
                let first = try await docker.createContainer(scope.spec(image, hostPort: 0, name: "a", labels: ["role": "a"]))
                let second = try await docker.createContainer(scope.spec(image, hostPort: 0, name: "b", labels: ["role": "b"]))
                let elsewhere = try await docker.createContainer(other.spec(image, hostPort: 0, name: "a", labels: ["role": "a"]))

                let mine = try await docker.listContainers(labels: [TestServices.containerLabel: scope.id], all: true)
                #expect(Set(mine.map(\.id)) == [first, second])
                #expect(mine.allSatisfy { $0.labels[TestServices.containerLabel] == scope.id && $0.state == "created" })
                #expect(Set(mine.map(\.name)) == ["abx-test-\(scope.id)-a", "abx-test-\(scope.id)-b"])
                #expect(mine.allSatisfy { $0.image == image && $0.imageID.hasPrefix("sha256:") })

                let roleA = try await docker.listContainers(labels: [TestServices.containerLabel: scope.id, "role": "a"], all: true)
                #expect(roleA.map(\.id) == [first])
                let anyTest = try await docker.listContainers(labels: [TestServices.containerLabel: nil, "role": "a"], all: true)
                #expect(Set(anyTest.map(\.id)).isSuperset(of: [first, elsewhere]))
                #expect(!anyTest.map(\.id).contains(second))
                #expect(try await docker.listContainers(labels: [TestServices.containerLabel: scope.id], all: false).isEmpty, "none runs")
            }
        }
    }

    @Test func logsReturnTheLastLinesOfBothStreams() async throws {
        try await withDockerScope { scope in
            let docker = scope.docker
            let image = try await pullTestImage(docker, "echo:1")
            var spec = scope.spec(image, hostPort: 0)
            // The engine copies stdout and stderr separately, so lines of the two streams written close
            // together may be logged in either order (seen under load even 100 ms apart): a second apart here.
            spec.command = ["/bin/sh", "-c", "echo problem >&2; sleep 1; echo one; echo two; echo three"]
            let id = try await docker.createContainer(spec)
            try await docker.startContainer(id)
            let exited = try await waitForContainer(docker, id) { $0?.state.status == "exited" }
            #expect(exited?.state.exitCode == 0)
            #expect(try await docker.logs(id, tail: 2) == "two\nthree\n")
            #expect(try await docker.logs(id, tail: -1) == "problem\none\ntwo\nthree\n", "both streams, demultiplexed")
        }
    }

    @Test func aBrokenImageExitsWithItsStatusAndLogs() async throws {
        try await withDockerScope { scope in
            let docker = scope.docker
            let image = try await pullTestImage(docker, "broken:1")
            let id = try await docker.createContainer(scope.spec(image, hostPort: 0))
            try await docker.startContainer(id)
            let exited = try await waitForContainer(docker, id) { $0?.state.status == "exited" }
            #expect(exited?.state.exitCode == 1)
            #expect(exited?.state.running == false)
            #expect(try await docker.logs(id, tail: 10).contains("broken on purpose"))
        }
    }

    @Test func eventsDeliverDieSoonAfterAKill() async throws {
        try await withDockerScope { scope in
            let docker = scope.docker
            let image = try await pullTestImage(docker, "echo:1")
            let id = try await docker.createContainer(scope.spec(image, hostPort: 0))
            try await docker.startContainer(id)

            let events = docker.events(labels: [TestServices.containerLabel: scope.id])
            let watcher = Task { () throws -> DockerEvent? in
                for try await event in events where event.action == "die" && event.id == id {
                    return event
                }
                return nil
            }
            let killed = ContinuousClock.now
            try await docker.killContainer(id)
            let timeout = Task {
                try await Task.sleep(for: .seconds(10))
                watcher.cancel()
            }
            let die = try await watcher.value
            timeout.cancel()
            let event = try #require(die, "no die event within 10 s")
            #expect(ContinuousClock.now - killed < .seconds(5))
            #expect(event.type == "container")
            #expect(event.exitCode == 137)
            #expect(event.name == "abx-test-\(scope.id)-web")
            #expect(event.labels[TestServices.containerLabel] == scope.id)
            #expect(event.labels["name"] == nil, "Docker's own attributes are not labels")
            #expect(abs(event.time.timeIntervalSinceNow) < 60)
        }
    }

    @Test func eventsOfOtherContainersAreFilteredOut() async throws {
        try await withDockerScope { scope in
            try await withDockerScope { other in
                let docker = scope.docker
                let image = try await pullTestImage(docker, "echo:1")
                let events = docker.events(labels: [TestServices.containerLabel: scope.id])
                let watcher = Task { () throws -> [DockerEvent] in
                    var seen: [DockerEvent] = []
                    for try await event in events {
                        seen.append(event)
                        if event.action == "start" { break }
                    }
                    return seen
                }
                let outsider = try await docker.createContainer(other.spec(image, hostPort: 0))
                try await docker.startContainer(outsider)
                let mine = try await docker.createContainer(scope.spec(image, hostPort: 0))
                try await docker.startContainer(mine)
                let timeout = Task {
                    try await Task.sleep(for: .seconds(10))
                    watcher.cancel()
                }
                let seen = try await watcher.value
                timeout.cancel()
                #expect(seen.map(\.action) == ["create", "start"], "\(seen.map(\.action))")
                #expect(seen.allSatisfy { $0.id == mine })
            }
        }
    }

    @Test func aHostPortTakenByAnotherProcessFailsTheStart() async throws {
        try await withDockerScope { scope in
            let docker = scope.docker
            let image = try await pullTestImage(docker, "echo:1")
            let taken = try LoopbackListener(port: 0)
            let id = try await docker.createContainer(scope.spec(image, hostPort: taken.port))
            let error = try #require(await dockerError { try await docker.startContainer(id) })
            #expect(error.code == .portInUse, "\(error)")
            #expect(error.message.contains("address already in use"), "Docker's own words: \(error.message)")
            #expect(error.message.contains("127.0.0.1:\(taken.port)"), "\(error.message)")
            #expect(error.status == 500)
            #expect(try await docker.inspectContainer(id)?.state.running == false)
            withExtendedLifetime(taken) {}
        }
    }

    @Test func mistakesGetDockersMessage() async throws {
        try await withDockerScope { scope in
            let docker = scope.docker
            let image = try await pullTestImage(docker, "echo:1")

            let noImage = await dockerError {
                _ = try await docker.createContainer(scope.spec("agentbox-test/never-built:\(scope.id)", hostPort: 0, name: "x"))
            }
            #expect(noImage?.code == .notFound, "\(String(describing: noImage))")
            #expect(noImage?.message.contains("No such image") == true, "\(String(describing: noImage))")

            let spec = scope.spec(image, hostPort: 0)
            _ = try await docker.createContainer(spec)
            let twice = await dockerError { _ = try await docker.createContainer(spec) }
            #expect(twice?.code == .conflict, "\(String(describing: twice))")
            #expect(twice?.message.contains("already in use") == true, "\(String(describing: twice))")

            var badName = scope.spec(image, hostPort: 0)
            badName.name = "not a valid name!"
            let invalid = await dockerError { _ = try await docker.createContainer(badName) }
            #expect(invalid?.code == .badRequest, "\(String(describing: invalid))")

            let absent = "abx-test-absent-\(scope.id)"
            for (what, call) in [
                ("start", { () async throws in try await docker.startContainer(absent) }),
                ("stop", { () async throws in try await docker.stopContainer(absent, timeout: 1) }),
                ("logs", { () async throws in _ = try await docker.logs(absent, tail: 1) }),
            ] {
                let error = await dockerError(call)
                #expect(error?.code == .notFound, "\(what): \(String(describing: error))")
                #expect(error?.message.contains("No such container") == true, "\(what): \(String(describing: error))")
            }
            #expect(try await docker.inspectContainer(absent) == nil)
        }
    }
}

import DockerHost
import Foundation
import HTTPClient
import Synchronization
import TestSupport
import Testing

/// Enables a suite where the real engine and registries are (always under CI: there they must be).
let needsDocker = ConditionTrait.enabled(if: TestServices.dockerTestsEnabled, Comment(rawValue: TestServices.skipReason))

/// One test's containers: each carries `agentbox.test=<this scope's id>` (and the run's id), and all
/// of them are removed when the test ends, passed or failed.
struct DockerTestScope {
    let docker = DockerClient(socketPath: TestServices.dockerSocket)
    let id = "t-" + UUID().uuidString.lowercased().prefix(12)

    /// The labels every container of this test carries, plus `extra`.
    func labels(_ extra: [String: String] = [:]) -> [String: String] {
        var labels = extra
        labels[TestServices.containerLabel] = id
        if let run = TestServices.runID { labels[TestServices.runLabel] = run }
        return labels
    }

    /// A spec for `image` with this test's labels and a unique name.
    func spec(_ image: String, hostPort: Int, name: String = "web", labels extra: [String: String] = [:]) -> ContainerSpec {
        ContainerSpec(name: "abx-test-\(id)-\(name)", image: image, labels: labels(extra), containerPort: 8080, hostPort: hostPort)
    }

    /// Removes every container of this test.
    func cleanUp() async {
        let mine = (try? await docker.listContainers(labels: [TestServices.containerLabel: id], all: true)) ?? []
        for container in mine {
            try? await docker.removeContainer(container.id, force: true)
        }
    }
}

/// Runs `body` with a fresh scope and removes the scope's containers afterwards, even when it throws.
func withDockerScope<T>(_ body: (DockerTestScope) async throws -> T) async throws -> T {
    let scope = DockerTestScope()
    do {
        let result = try await body(scope)
        await scope.cleanUp()
        return result
    } catch {
        await scope.cleanUp()
        throw error
    }
}

/// Pulls an image of the open test registry (quick once its layers are local).
func pullTestImage(_ docker: DockerClient, _ nameAndTag: String) async throws -> String {
    let image = TestServices.image(nameAndTag)
    try await docker.pullImage(image, auth: nil) { _ in }
    return image
}

/// GET `url` until it answers 200 or `limit` passes; the last status (0 for no answer).
func waitForHTTP200(_ url: String, limit: Duration = .seconds(10)) async -> Int {
    let client = HTTPClient(configuration: .init(connectTimeout: .seconds(2), timeout: .seconds(3)))
    let deadline = ContinuousClock.now + limit
    var last = 0
    while ContinuousClock.now < deadline {
        last = (try? await client.send(HTTPRequest(.get, url: url)))?.status ?? 0
        if last == 200 { return last }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return last
}

/// Inspects a container until `condition` holds or `limit` passes; the last inspection.
func waitForContainer(
    _ docker: DockerClient, _ id: String, limit: Duration = .seconds(10), until condition: (ContainerInfo?) -> Bool
) async throws -> ContainerInfo? {
    let deadline = ContinuousClock.now + limit
    var info = try await docker.inspectContainer(id)
    while !condition(info), ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(100))
        info = try await docker.inspectContainer(id)
    }
    return info
}

/// The error a call throws, or nil when it succeeds.
func dockerError(_ body: () async throws -> Void) async -> DockerError? {
    do {
        try await body()
        return nil
    } catch let error as DockerError {
        return error
    } catch {
        Issue.record("not a DockerError: \(error)")
        return nil
    }
}

/// Collects values from a `@Sendable` callback.
final class Collected<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])
    func append(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
}

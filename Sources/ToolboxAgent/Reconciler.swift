import DockerHost
import Foundation
import ToolboxProtocol

/// The DTMA of one toolbox: makes the Docker engine's containers labelled for this toolbox match a
/// ``DesiredState`` and reports what it found as a ``Heartbeat``.
///
/// Only containers labelled `agentbox.toolbox=<this toolbox>` are ever listed, started, stopped or removed:
/// several toolboxes (several users' local toolboxes, the DigitalOcean tests) share one engine. One
/// instance's failure becomes that instance's `error` report with Docker's own message and never stops
/// the others. Passes of one reconciler run one at a time.
public actor Reconciler {
    /// The version the agent reports in its heartbeats.
    public static let agentVersion = "0.1.0"

    public let toolboxID: UUID
    let docker: DockerClient
    /// How long a freshly started container must stay up to count as running.
    let settleTime: Duration
    /// Seconds Docker waits for a container to stop before killing it.
    let stopTimeout: Int
    private var current: Task<Heartbeat, Never>?

    public init(toolboxID: UUID, docker: DockerClient, settleTime: Duration = .milliseconds(700), stopTimeout: Int = 5) {
        self.toolboxID = toolboxID
        self.docker = docker
        self.settleTime = settleTime
        self.stopTimeout = stopTimeout
    }

    /// Converges once and reports. A pass asked for while another runs waits for it, then runs with its own desired state.
    public func converge(_ desired: DesiredState) async -> Heartbeat {
        while let running = current { _ = await running.value }
        let task = Task { await self.pass(desired) }
        current = task
        let heartbeat = await task.value
        current = nil
        return heartbeat
    }

    // MARK: - One pass

    private func pass(_ desired: DesiredState) async -> Heartbeat {
        let label = ContainerNaming.value(toolboxID)
        let containers: [ContainerSummary]
        do {
            try await docker.ping()
            containers = try await docker.listContainers(labels: [ContainerNaming.toolbox: label], all: true)
        } catch {
            // Without an engine nothing can be known about the instances: report none, and say so.
            return heartbeat(reachable: false, reports: [])
        }
        // Never trust the filter alone: keep only containers carrying this toolbox's label.
        let owned = containers.filter { $0.labels[ContainerNaming.toolbox] == label }
        var byInstance: [String: [ContainerSummary]] = [:]
        for container in owned {
            byInstance[container.labels[ContainerNaming.instance] ?? "", default: []].append(container)
        }
        var reports: [InstanceReport] = []
        var wanted = Set<String>()
        for instance in desired.instances {
            let key = ContainerNaming.value(instance.instanceID)
            wanted.insert(key)
            reports.append(await reconcile(instance, found: byInstance[key] ?? []))
        }
        // Orphans: labelled for this toolbox, owned by no desired instance.
        for (key, orphans) in byInstance where !wanted.contains(key) {
            for orphan in orphans { try? await docker.removeContainer(orphan.id, force: true) }
        }
        return heartbeat(reachable: true, reports: reports)
    }

    private func heartbeat(reachable: Bool, reports: [InstanceReport]) -> Heartbeat {
        Heartbeat(
            toolboxID: toolboxID, agentVersion: Self.agentVersion, sentAt: Date(), health: HostHealthProbe.read(dockerReachable: reachable),
            instances: reports)
    }

    /// Makes one instance's container match its goal; any Docker error becomes the instance's `error` report.
    private func reconcile(_ instance: DesiredInstance, found: [ContainerSummary]) async -> InstanceReport {
        let name = ContainerNaming.containerName(instanceName: instance.name, instanceID: instance.instanceID)
        do {
            // One container per instance: the one with the expected name and version; any other copy goes.
            var keep: ContainerSummary?
            for container in found {
                let matches = container.names.contains { $0 == name || $0 == "/" + name }
                    && container.labels[ContainerNaming.version] == instance.version
                if matches && keep == nil && instance.desired != .absent {
                    keep = container
                } else {
                    try await docker.removeContainer(container.id, force: true)
                }
            }
            switch instance.desired {
            case .absent:
                return InstanceReport(instanceID: instance.instanceID, state: .absent)
            case .stopped:
                guard let container = keep else {
                    return InstanceReport(instanceID: instance.instanceID, state: .stopped, hostPort: instance.hostPort)
                }
                if Self.isRunning(container.state) { try await docker.stopContainer(container.id, timeout: stopTimeout) }
                return InstanceReport(instanceID: instance.instanceID, containerID: container.id, state: .stopped, hostPort: instance.hostPort)
            case .running:
                if let container = keep, Self.isRunning(container.state) {
                    return InstanceReport(
                        instanceID: instance.instanceID, containerID: container.id, state: .running, hostPort: instance.hostPort,
                        imageDigest: container.imageID)
                }
                let id: String
                if let container = keep {
                    id = container.id
                } else {
                    id = try await create(instance, name: name)
                }
                try await docker.startContainer(id)
                return try await settled(instance, containerID: id)
            }
        } catch {
            return InstanceReport(instanceID: instance.instanceID, state: .error, hostPort: instance.hostPort, lastError: Self.message(of: error))
        }
    }

    /// Pulls the image when the engine lacks it, then creates the container: published on 127.0.0.1 at the
    /// leased port, labelled, limited, without new privileges.
    private func create(_ instance: DesiredInstance, name: String) async throws -> String {
        if try await docker.inspectImage(instance.image) == nil {
            try await docker.pullImage(instance.image, auth: nil, progress: { _ in })
        }
        let spec = ContainerSpec(
            name: name, image: instance.image,
            labels: [
                ContainerNaming.toolbox: ContainerNaming.value(toolboxID), ContainerNaming.instance: ContainerNaming.value(instance.instanceID),
                ContainerNaming.version: instance.version,
            ],
            containerPort: instance.containerPort, hostIP: "127.0.0.1", hostPort: instance.hostPort,
            memoryBytes: instance.memoryMB.map { Int64($0) * 1024 * 1024 }, nanoCPUs: instance.cpuLimit.map { Int64($0 * 1_000_000_000) },
            restartPolicy: .no)
        return try await docker.createContainer(spec)
    }

    /// Waits a moment after a start: a container that exits at once is an `error` with its exit code and last log lines.
    private func settled(_ instance: DesiredInstance, containerID: String) async throws -> InstanceReport {
        try? await Task.sleep(for: settleTime)
        guard let info = try await docker.inspectContainer(containerID) else {
            return InstanceReport(instanceID: instance.instanceID, state: .error, hostPort: instance.hostPort, lastError: "the container was removed while starting")
        }
        if info.state.running {
            return InstanceReport(
                instanceID: instance.instanceID, containerID: containerID, state: .running, hostPort: instance.hostPort, imageDigest: info.imageID)
        }
        var reason = "the container exited at once with code \(info.state.exitCode)"
        if !info.state.error.isEmpty { reason += ": \(info.state.error)" }
        if let logs = try? await docker.logs(containerID, tail: 5), !logs.isEmpty {
            reason += "; last output: \(logs.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
        return InstanceReport(
            instanceID: instance.instanceID, containerID: containerID, state: .error, hostPort: instance.hostPort, imageDigest: info.imageID,
            lastError: reason)
    }

    static func isRunning(_ state: String) -> Bool { state == "running" || state == "restarting" }

    /// Docker's own message when Docker said something, the error's description otherwise.
    static func message(of error: any Error) -> String {
        if let docker = error as? DockerError { return docker.message }
        return String(describing: error)
    }
}

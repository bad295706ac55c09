import DockerHost
import Foundation
import ToolboxProtocol

/// The DTMA of one toolbox: makes the Docker engine's containers labelled for this toolbox match a
/// ``DesiredState`` and reports what it found as a ``Heartbeat``.
///
/// Only containers labelled `agentbox.toolbox=<this toolbox>` are ever listed, started, stopped or removed:
/// several toolboxes (several users' local toolboxes, the DigitalOcean tests) share one engine. One
/// instance's failure becomes that instance's `error` report with Docker's own message and never stops
/// the others. Passes of one reconciler run one at a time. A container found with the instance's labels
/// is adopted, never duplicated: after a crash of the appliance the next pass carries on where it stopped.
public actor Reconciler {
    /// Receives what the reconciler does to an instance's container, in order: (instance id, kind, message).
    /// Kinds: `pull`, `created`, `started`, `stopped`, `removed`, `crashed`, `restart`, `upgrade`, `rollback`, `error`.
    public typealias EventSink = @Sendable (UUID, String, String) -> Void

    public let toolboxID: UUID
    let docker: DockerClient
    /// How long a freshly started container of a tool without `GET /health` (an MCP tool) must stay up to count as running.
    let settleTime: Duration
    /// Seconds Docker waits for a container to stop before killing it.
    let stopTimeout: Int
    /// How long a started container has to answer `GET /health`: an upgrade that does not is rolled back; a deploy
    /// that does not is reported running, with a note.
    let healthTimeout: Duration
    let events: EventSink
    private let health = ToolHealthCheck()
    private var current: Task<Heartbeat, Never>?
    /// Crash restarts per instance, and when the next one is due.
    private var backoff: [UUID: CrashBackoff] = [:]
    private var dueRestarts: [UUID: ContinuousClock.Instant] = [:]
    /// The goal of each instance in the previous pass: a container that stopped while it was meant to run crashed.
    private var lastGoal: [UUID: DesiredInstance.Goal] = [:]
    /// A note that stays on an instance's running reports until its goal changes: why its last upgrade was rolled back.
    private var notes: [UUID: String] = [:]
    /// Deploys waiting for their registry to come back, and the report each gives meanwhile.
    private var pullBackoff: [UUID: PullBackoff] = [:]
    private var pullNotes: [UUID: String] = [:]

    public init(
        toolboxID: UUID, docker: DockerClient, settleTime: Duration = .milliseconds(700), stopTimeout: Int = 5,
        healthTimeout: Duration = .seconds(20), events: @escaping EventSink = { _, _, _ in }
    ) {
        self.toolboxID = toolboxID
        self.docker = docker
        self.settleTime = settleTime
        self.stopTimeout = stopTimeout
        self.healthTimeout = healthTimeout
        self.events = events
    }

    /// The earliest moment a crashed container or a pull waits for: a pass should run then.
    public var nextDuePass: ContinuousClock.Instant? { (Array(dueRestarts.values) + pullBackoff.values.compactMap(\.nextAttempt)).min() }

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
        // Orphans first: labelled for this toolbox, owned by no desired instance. One may hold a host port that an
        // instance of this pass now leases (its instance was deleted while an earlier pass was starting it).
        let wanted = Set(desired.instances.map { ContainerNaming.value($0.instanceID) })
        for (key, orphans) in byInstance where !wanted.contains(key) {
            for orphan in orphans { try? await discard(orphan.id) }
        }
        var reports: [InstanceReport] = []
        for instance in desired.instances {
            var report = await reconcile(instance, found: byInstance[ContainerNaming.value(instance.instanceID)] ?? [])
            report.desiredVersion = instance.version
            lastGoal[instance.instanceID] = instance.desired
            reports.append(report)
        }
        let ids = Set(desired.instances.map(\.instanceID))
        for id in lastGoal.keys where !ids.contains(id) { forget(id) }
        return heartbeat(reachable: true, reports: reports)
    }

    private func heartbeat(reachable: Bool, reports: [InstanceReport]) -> Heartbeat {
        Heartbeat(
            toolboxID: toolboxID, agentVersion: AgentboxBuild.version, sentAt: Date(), health: HostHealthProbe.read(dockerReachable: reachable),
            instances: reports)
    }

    private func forget(_ id: UUID) {
        lastGoal[id] = nil
        backoff[id] = nil
        dueRestarts[id] = nil
        notes[id] = nil
        pullBackoff[id] = nil
        pullNotes[id] = nil
    }

    /// Makes one instance's container match its goal; any Docker error becomes the instance's `error` report.
    private func reconcile(_ instance: DesiredInstance, found: [ContainerSummary]) async -> InstanceReport {
        let id = instance.instanceID
        if instance.desired != .running { forget(id) }
        if instance.desired == .running && found.contains(where: { $0.state == "removing" }) {
            // Its name is still taken: the destroy event brings the next pass once the engine is done.
            return InstanceReport(
                instanceID: id, state: .restarting, hostPort: instance.hostPort, lastError: "waiting for the engine to finish removing a container")
        }
        do {
            // One container per instance: the one of the desired version; during an upgrade also the one
            // of the version to return to. Any other copy goes.
            var keep: ContainerSummary?
            var previous: ContainerSummary?
            // Running copies first, so a stopped duplicate is the one that goes; one the engine is removing
            // already (its list lags behind a `docker rm`) is neither kept nor removed again.
            for container in found.sorted(by: { Self.isRunning($0.state) && !Self.isRunning($1.state) }) where container.state != "removing" {
                let version = container.labels[ContainerNaming.version]
                if instance.desired != .absent && version == instance.version && keep == nil {
                    keep = container
                } else if instance.desired == .running && version == instance.rollback?.version && previous == nil {
                    previous = container
                } else {
                    try await discard(container.id)
                    events(id, "removed", "removed container \(container.id.prefix(12))")
                }
            }
            switch instance.desired {
            case .absent:
                return InstanceReport(instanceID: id, state: .absent)
            case .stopped:
                guard let container = keep else { return InstanceReport(instanceID: id, state: .stopped, hostPort: instance.hostPort) }
                if Self.isRunning(container.state) {
                    try await docker.stopContainer(container.id, timeout: stopTimeout)
                    events(id, "stopped", "stopped container \(container.id.prefix(12))")
                }
                return InstanceReport(instanceID: id, containerID: container.id, state: .stopped, hostPort: instance.hostPort, version: instance.version)
            case .running:
                var report: InstanceReport
                if let previous, let rollback = instance.rollback {
                    report = try await upgrade(instance, from: previous, to: keep, rollback: rollback)
                } else if let container = keep, Self.isRunning(container.state) {
                    report = try await restartIfAsked(instance, container)
                } else if keep == nil, let waiting = pullBackoff[id], !waiting.due(now: .now), let note = pullNotes[id] {
                    return InstanceReport(instanceID: id, state: .deploying, hostPort: instance.hostPort, version: instance.version, lastError: note)
                } else {
                    report = try await start(instance, existing: keep)
                }
                if report.state == .running {
                    pullBackoff[id] = nil
                    pullNotes[id] = nil
                    if report.lastError == nil { report.lastError = notes[id] }
                }
                return report
            }
        } catch let error as DockerError where error.isRegistryOutage && instance.desired == .running {
            return registryDown(instance, error)
        } catch {
            let reason = Self.message(of: error)
            events(id, "error", reason)
            return InstanceReport(instanceID: id, state: .error, hostPort: instance.hostPort, lastError: reason)
        }
    }

    /// The report of a deploy whose pull found the registry down: deploying still, pulled again after its back-off;
    /// given up as `error` after ``PullBackoff/maximumAttempts`` failed pulls.
    private func registryDown(_ instance: DesiredInstance, _ error: DockerError) -> InstanceReport {
        let id = instance.instanceID
        var record = pullBackoff[id] ?? PullBackoff()
        record.failed(now: .now)
        pullBackoff[id] = record
        if record.exhausted {
            forget(id)
            let reason = "\(error.message); gave up after \(record.failures) pulls"
            events(id, "error", reason)
            return InstanceReport(instanceID: id, state: .error, hostPort: instance.hostPort, version: instance.version, lastError: reason)
        }
        let reason = "\(error.message); pulling again in \(Self.seconds(record.delay)) (attempt \(record.failures + 1) of \(PullBackoff.maximumAttempts))"
        pullNotes[id] = reason
        events(id, "error", reason)
        return InstanceReport(instanceID: id, state: .deploying, hostPort: instance.hostPort, version: instance.version, lastError: reason)
    }

    /// Starts an instance's container, creating it first when there is none. A container that stopped while it was
    /// meant to run has crashed: it is started again after its back-off, and given up as `error` after too many tries.
    private func start(_ instance: DesiredInstance, existing: ContainerSummary?) async throws -> InstanceReport {
        let id = instance.instanceID
        let crashed = existing != nil && lastGoal[id] == .running
        var record = backoff[id] ?? CrashBackoff()
        if crashed {
            let now = ContinuousClock.now
            record.crashed(now: now)
            let exit = await exitDescription(existing?.id)
            if record.exhausted {
                forget(id)
                let reason = "the container crashed \(CrashBackoff.maximumRestarts + 1) times in a row; it is left stopped (last: \(exit))"
                events(id, "error", reason)
                return InstanceReport(instanceID: id, containerID: existing?.id, state: .error, hostPort: instance.hostPort, version: instance.version, lastError: reason)
            }
            let due = record.nextStart(now: now)
            if due > now {
                let reason = "\(exit); restart \(record.restarts + 1) of \(CrashBackoff.maximumRestarts) in \(Self.seconds(due - now))"
                if dueRestarts[id] == nil { events(id, "crashed", reason) }
                backoff[id] = record
                dueRestarts[id] = due
                return InstanceReport(
                    instanceID: id, containerID: existing?.id, state: .restarting, hostPort: instance.hostPort, version: instance.version, lastError: reason)
            }
            events(id, "crashed", "\(exit); restarting now (\(record.restarts + 1) of \(CrashBackoff.maximumRestarts))")
            record.restarted(now: now)
            backoff[id] = record
        } else {
            backoff[id] = nil
        }
        dueRestarts[id] = nil
        let containerID: String
        if let existing { containerID = existing.id } else { containerID = try await create(instance, image: instance.image, version: instance.version) }
        try await docker.startContainer(containerID)
        events(id, "started", "started container \(containerID.prefix(12)) on 127.0.0.1:\(instance.hostPort)")
        return try await settled(instance, containerID: containerID, version: instance.version, failure: crashed ? .restarting : .error)
    }

    /// A running container that started before the user's restart request is restarted.
    private func restartIfAsked(_ instance: DesiredInstance, _ container: ContainerSummary) async throws -> InstanceReport {
        if let asked = instance.restartRequestedAt, let info = try await docker.inspectContainer(container.id),
            let started = info.state.startedAt, started < asked
        {
            try await docker.restartContainer(container.id, timeout: stopTimeout)
            events(instance.instanceID, "restart", "restarted container \(container.id.prefix(12)) as asked")
            return try await settled(instance, containerID: container.id, version: instance.version, failure: .error)
        }
        return InstanceReport(
            instanceID: instance.instanceID, containerID: container.id, state: .running, hostPort: instance.hostPort, imageDigest: container.imageID,
            version: instance.version)
    }

    /// Moves an instance to its new version: the new image is pulled while the old container still serves; then the
    /// old container steps aside (stopped, renamed), the new one is created on the same port and must run and answer
    /// `GET /health`; otherwise it goes and the old one runs again.
    private func upgrade(
        _ instance: DesiredInstance, from previous: ContainerSummary, to existing: ContainerSummary?, rollback: Rollback
    ) async throws -> InstanceReport {
        let id = instance.instanceID
        let name = ContainerNaming.containerName(instanceName: instance.name, instanceID: id)
        events(id, "upgrade", "upgrading from \(rollback.version) to \(instance.version)")
        notes[id] = nil
        var newID = existing?.id
        // Whether the old container's name was taken off it (an earlier pass may have done so already).
        var renamed = !Self.hasName(previous, name)
        do {
            if newID == nil { try await pullIfMissing(instance, image: instance.image) }
            if Self.isRunning(previous.state) { try await docker.stopContainer(previous.id, timeout: stopTimeout) }
            if !renamed {
                try await docker.renameContainer(previous.id, to: name + "-previous")
                renamed = true
            }
            let containerID: String
            if let newID { containerID = newID } else { containerID = try await create(instance, image: instance.image, version: instance.version) }
            newID = containerID
            try await docker.startContainer(containerID)
            let report = try await settled(instance, containerID: containerID, version: instance.version, failure: .error)
            if report.state != .running || report.lastError != nil {
                throw UpgradeFailure(reason: report.lastError ?? "the container did not stay up")
            }
            try await discard(previous.id)
            events(id, "upgrade", "upgraded to \(instance.version); container \(containerID.prefix(12)) answers /health")
            return report
        } catch {
            let reason = Self.message(of: error)
            if let newID { try? await discard(newID) }
            if renamed { try await docker.renameContainer(previous.id, to: name) }
            try await docker.startContainer(previous.id)
            let note = "upgrade to \(instance.version) failed: \(reason); rolled back to \(rollback.version)"
            events(id, "rollback", note)
            notes[id] = note
            var report = try await settled(instance, containerID: previous.id, version: rollback.version, failure: .error)
            if report.state == .running { report.lastError = note }
            return report
        }
    }

    /// Why an upgrade is abandoned.
    struct UpgradeFailure: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    /// Pulls the image when the engine lacks it, with the registry login, reporting progress.
    private func pullIfMissing(_ instance: DesiredInstance, image: String) async throws {
        let id = instance.instanceID
        if try await docker.inspectImage(image) == nil {
            events(id, "pull", "pulling \(image)")
            let started = ContinuousClock.now
            let meter = PullMeter()
            let sink = events
            let auth = instance.registryAuth.map { RegistryAuth(username: $0.username, password: $0.password, serveraddress: $0.serverAddress) }
            try await docker.pullImage(image, auth: auth, progress: { progress in
                if let line = meter.update(progress) { sink(id, "pull", line) }
            })
            events(id, "pull", "pulled \(image) in \(Self.seconds(ContinuousClock.now - started))")
        }
    }

    /// Creates the container once its image is there: published on 127.0.0.1 at the leased port, labelled, limited,
    /// without new privileges.
    private func create(_ instance: DesiredInstance, image: String, version: String) async throws -> String {
        let id = instance.instanceID
        try await pullIfMissing(instance, image: image)
        let spec = ContainerSpec(
            name: ContainerNaming.containerName(instanceName: instance.name, instanceID: id), image: image,
            labels: [
                ContainerNaming.toolbox: ContainerNaming.value(toolboxID), ContainerNaming.instance: ContainerNaming.value(id),
                ContainerNaming.version: version,
            ],
            containerPort: instance.containerPort, hostIP: "127.0.0.1", hostPort: instance.hostPort,
            memoryBytes: instance.memoryMB.map { Int64($0) * 1024 * 1024 }, nanoCPUs: instance.cpuLimit.map { Int64($0 * 1_000_000_000) },
            restartPolicy: .no)
        let containerID = try await docker.createContainer(spec)
        Failpoint.afterContainerCreate.reach()
        events(id, "created", "created container \(containerID.prefix(12)) from \(image)")
        return containerID
    }

    /// Watches a container after a start until it answers `GET /health` (or, for a tool without it, has stayed up
    /// for ``settleTime``): then it runs. One that exits first is reported in `failure` state (`error` for a deploy,
    /// `restarting` for a crash restart) with its exit code and last log lines; one still silent after
    /// ``healthTimeout`` runs, with a note saying so.
    private func settled(
        _ instance: DesiredInstance, containerID: String, version: String, failure: InstanceReport.State
    ) async throws -> InstanceReport {
        let started = ContinuousClock.now
        var silence = "no answer"
        while true {
            guard let info = try await docker.inspectContainer(containerID) else {
                return InstanceReport(
                    instanceID: instance.instanceID, state: .error, hostPort: instance.hostPort, lastError: "the container was removed while starting")
            }
            guard info.state.running else { return await exited(instance, containerID: containerID, info: info, version: version, failure: failure) }
            let waited = ContinuousClock.now - started
            var ready = !instance.checksHealth && waited >= settleTime
            if instance.checksHealth {
                if let problem = await health.check(hostPort: instance.hostPort) { silence = problem } else { ready = true }
            }
            if ready || waited >= healthTimeout {
                let note = ready ? nil : "the container runs but GET /health has not answered in \(Self.seconds(healthTimeout)) (\(silence))"
                return InstanceReport(
                    instanceID: instance.instanceID, containerID: containerID, state: .running, hostPort: instance.hostPort, imageDigest: info.imageID,
                    version: version, lastError: note)
            }
            // Closely at first (most tools answer within a second of their start: each poll saved is a faster
            // deploy), then every 50 ms.
            try await Task.sleep(for: waited < .seconds(1) ? .milliseconds(10) : .milliseconds(50))
        }
    }

    /// The report of a container that stopped while starting.
    private func exited(
        _ instance: DesiredInstance, containerID: String, info: ContainerInfo, version: String, failure: InstanceReport.State
    ) async -> InstanceReport {
        let reason = await exitDescription(containerID, info: info)
        events(instance.instanceID, failure == .error ? "error" : "crashed", reason)
        return InstanceReport(
            instanceID: instance.instanceID, containerID: containerID, state: failure, hostPort: instance.hostPort, imageDigest: info.imageID,
            version: version, lastError: reason)
    }

    /// "the container exited with code 1: <engine error>; last output: <up to 5 lines>".
    private func exitDescription(_ containerID: String?, info: ContainerInfo? = nil) async -> String {
        guard let containerID else { return "the container is gone" }
        var known = info
        if known == nil { known = try? await docker.inspectContainer(containerID) }
        guard let info = known else { return "the container is gone" }
        var reason = "the container exited with code \(info.state.exitCode)"
        if info.state.oomKilled { reason += " (out of memory)" }
        if !info.state.error.isEmpty { reason += ": \(info.state.error)" }
        if let logs = try? await docker.logs(containerID, tail: 5), !logs.isEmpty {
            reason += "; last output: \(logs.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
        return reason
    }

    /// Removes a container; one already gone, or whose removal the engine has under way (after a crash in the middle
    /// of a `docker rm`), counts as removed.
    func discard(_ containerID: String) async throws(DockerError) {
        do {
            try await docker.removeContainer(containerID, force: true)
        } catch where error.code == .notFound || (error.code == .conflict && (error.dockerMessage ?? "").contains("already in progress")) {
            return
        }
    }

    static func isRunning(_ state: String) -> Bool { state == "running" || state == "restarting" }

    static func hasName(_ container: ContainerSummary, _ name: String) -> Bool {
        container.names.contains { $0 == name || $0 == "/" + name }
    }

    /// `1.2 s`.
    static func seconds(_ duration: Duration) -> String {
        let tenths = Int((Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18) * 10 + 0.5)
        return "\(tenths / 10).\(tenths % 10) s"
    }

    /// Docker's own message when Docker said something, the error's description otherwise.
    static func message(of error: any Error) -> String {
        if let docker = error as? DockerError { return docker.message }
        return String(describing: error)
    }
}

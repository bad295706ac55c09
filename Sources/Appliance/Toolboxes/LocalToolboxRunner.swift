import DockerHost
import Foundation
import Logging
import Metrics
import Services
import Storage
import ToolboxAgent
import ToolboxProtocol

/// The DTMA role for local toolboxes, inside `serve`: the in-process transport of the backend-to-DTMA protocol.
///
/// Every `interval`, at once when the backend changes a toolbox's desired state (``ToolboxSignals``), when
/// Docker reports that a container labelled for a toolbox died, stopped or was removed, and when a crashed
/// container's back-off ends, it runs a pass for each active local toolbox: the desired state from the
/// database, that toolbox's ``Reconciler`` on the local engine, and the heartbeat back into the database.
/// Passes of one toolbox never overlap; a pass asked for while one runs is run once after it. What the
/// reconcilers do to containers is stored, in order, as instance events. An unreachable engine is logged
/// once, not on every tick, and the server keeps serving.
actor LocalToolboxRunner {
    let control: ToolboxControl
    let docker: DockerClient
    let interval: Duration
    let logger: Logger
    private var reconcilers: [UUID: Reconciler] = [:]
    private var running: Set<UUID> = []
    private var again: Set<UUID> = []
    private var wakeUps: [UUID: Task<Void, Never>] = [:]
    private var engineDown = false
    private let events: AsyncStream<InstanceEvent>
    private let eventInput: AsyncStream<InstanceEvent>.Continuation

    init(control: ToolboxControl, docker: DockerClient, interval: Duration, logger: Logger) {
        self.control = control
        self.docker = docker
        self.interval = interval
        self.logger = logger
        (events, eventInput) = AsyncStream.makeStream(of: InstanceEvent.self, bufferingPolicy: .bufferingNewest(10_000))
    }

    /// Runs until the task is cancelled: the poll loop, the backend's signals, Docker's events and the event writer.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.poll() }
            group.addTask { await self.followSignals() }
            group.addTask { await self.followEvents() }
            group.addTask { await self.writeEvents() }
        }
    }

    /// Converges a toolbox as soon as the backend changes what it should run.
    private func followSignals() async {
        for await toolboxID in control.signals.changes {
            Task { await self.pass(toolboxID) }
        }
    }

    /// Stores instance events in the order the reconcilers emitted them.
    private func writeEvents() async {
        for await event in events {
            Counter(label: "agentbox_instance_events_total", dimensions: [("kind", event.kind)]).increment()
            do {
                try await control.record([event])
            } catch {
                logger.warning("local toolboxes: could not store an instance event (\(event.kind)): \(error)")
            }
        }
    }

    private func poll() async {
        while !Task.isCancelled {
            await passAll()
            try? await Task.sleep(for: interval)
        }
    }

    /// Follows the engine's events for containers labelled for any toolbox; reconnects after a second when the stream ends.
    private func followEvents() async {
        while !Task.isCancelled {
            do {
                for try await event in docker.events(labels: [ContainerNaming.toolbox: nil]) {
                    guard ["die", "stop", "destroy", "kill", "oom"].contains(event.action),
                        let toolbox = event.attributes[ContainerNaming.toolbox].flatMap(UUID.init(uuidString:))
                    else { continue }
                    logger.debug("local toolbox \(toolbox.uuidString.lowercased()): docker event \(event.action)")
                    Task { await self.pass(toolbox) }
                    // The engine announces a death a moment before its container list shows it: look again shortly.
                    Task {
                        try? await Task.sleep(for: .milliseconds(300))
                        await self.pass(toolbox)
                    }
                }
            } catch {
                // The engine is down or restarting: the poll loop reports it; try again shortly.
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// One pass over every active local toolbox, in parallel.
    func passAll() async {
        let ids: [UUID]
        do {
            ids = try await control.activeLocalToolboxIDs()
        } catch {
            logger.error("local toolboxes: cannot read the active toolboxes: \(error)")
            return
        }
        let active = Set(ids)
        for id in reconcilers.keys where !active.contains(id) { reconcilers[id] = nil }
        await withTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { await self.pass(id) } }
        }
    }

    /// Desired state, converge, heartbeat, for one toolbox; coalesced with a pass already running for it.
    func pass(_ toolboxID: UUID) async {
        guard !running.contains(toolboxID) else {
            again.insert(toolboxID)
            return
        }
        running.insert(toolboxID)
        defer { running.remove(toolboxID) }
        repeat {
            again.remove(toolboxID)
            await passOnce(toolboxID)
        } while again.contains(toolboxID) && !Task.isCancelled
    }

    private func passOnce(_ toolboxID: UUID) async {
        do {
            // Signals and Docker events name droplets' toolboxes too: those run on their droplets, never here.
            let desired = try await control.desiredState(toolboxID, provider: .local)
            let reconciler = reconcilers[toolboxID] ?? Reconciler(toolboxID: toolboxID, docker: docker, events: { [eventInput] id, kind, message in
                eventInput.yield(InstanceEvent(accountToolInstanceID: id, kind: kind, message: message))
            })
            reconcilers[toolboxID] = reconciler
            let heartbeat = await reconciler.converge(desired)
            logger.debug(
                "local toolbox \(toolboxID.uuidString.lowercased()): pass done",
                metadata: ["reports": "\(heartbeat.instances.map { "\($0.instanceID.uuidString.prefix(8)):\($0.state.rawValue)" })"])
            noteEngine(reachable: heartbeat.health.dockerReachable)
            try await control.ingest(heartbeat)
            Counter(
                label: "agentbox_heartbeats_total",
                dimensions: [("provider", "local"), ("docker", heartbeat.health.dockerReachable ? "reachable" : "unreachable")]
            ).increment()
            if let due = await reconciler.nextDuePass { wake(toolboxID, at: due) }
        } catch let error as ServiceError where error.code == .notFound {
            reconcilers[toolboxID] = nil
        } catch {
            logger.error("local toolbox \(toolboxID.uuidString.lowercased()): pass failed: \(error)")
        }
    }

    /// Runs a pass for a toolbox at `instant` (a crashed container's back-off ends), unless one is set for then already.
    private func wake(_ toolboxID: UUID, at instant: ContinuousClock.Instant) {
        wakeUps[toolboxID]?.cancel()
        wakeUps[toolboxID] = Task {
            try? await Task.sleep(until: instant, clock: .continuous)
            guard !Task.isCancelled else { return }
            await self.pass(toolboxID)
        }
    }

    /// Logs the engine going away once, and its return once.
    private func noteEngine(reachable: Bool) {
        if !reachable && !engineDown {
            engineDown = true
            logger.warning("local toolboxes: the Docker engine does not answer; instances are left as they are until it does")
        } else if reachable && engineDown {
            engineDown = false
            logger.notice("local toolboxes: the Docker engine answers again")
        }
    }
}

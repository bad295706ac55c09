import DockerHost
import Foundation
import Logging
import Services
import ToolboxAgent
import ToolboxProtocol

/// The DTMA role for local toolboxes, inside `serve`: the in-process transport of the backend-to-DTMA protocol.
///
/// Every `interval`, and at once when Docker reports that a container labelled for a toolbox died, stopped
/// or was removed, it runs a pass for each active local toolbox: the desired state from the database, that
/// toolbox's ``Reconciler`` on the local engine, and the heartbeat back into the database. Passes of one
/// toolbox never overlap; a pass asked for while one runs is run once after it. An unreachable engine is
/// logged once, not on every tick, and the server keeps serving.
actor LocalToolboxRunner {
    let control: ToolboxControl
    let docker: DockerClient
    let interval: Duration
    let logger: Logger
    private var reconcilers: [UUID: Reconciler] = [:]
    private var running: Set<UUID> = []
    private var again: Set<UUID> = []
    private var engineDown = false

    init(control: ToolboxControl, docker: DockerClient, interval: Duration, logger: Logger) {
        self.control = control
        self.docker = docker
        self.interval = interval
        self.logger = logger
    }

    /// Runs until the task is cancelled: the poll loop and the event follower.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.poll() }
            group.addTask { await self.followEvents() }
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
                    Task { await self.pass(toolbox) }
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
            let desired = try await control.desiredState(toolboxID)
            let reconciler = reconcilers[toolboxID] ?? Reconciler(toolboxID: toolboxID, docker: docker)
            reconcilers[toolboxID] = reconciler
            let heartbeat = await reconciler.converge(desired)
            noteEngine(reachable: heartbeat.health.dockerReachable)
            try await control.ingest(heartbeat)
        } catch let error as ServiceError where error.code == .notFound {
            reconcilers[toolboxID] = nil
        } catch {
            logger.error("local toolbox \(toolboxID.uuidString.lowercased()): pass failed: \(error)")
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

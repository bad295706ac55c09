import DockerHost
import Foundation
import Synchronization
import ToolboxProtocol

/// The droplet's DTMA (`agentbox dtma`): enrolls once, then runs side by side until cancelled the heartbeat loop
/// (desired state in, ``Reconciler`` pass, report out), the call loop (long poll, each call with ``ToolCallRunner``),
/// the event sender and the self-update. Every connection is the droplet's own; each loop reconnects with
/// jittered exponential back-off and logs a lost connection once and its return once, while the containers keep running.
public struct RemoteDTMA: Sendable {
    public struct Options: Sendable {
        /// How long an update on trial has to get a good heartbeat before it is rolled back.
        public var updateGrace: Duration
        /// The arguments after the binary, given again to a new binary (self-update).
        public var arguments: [String]

        public init(updateGrace: Duration = .seconds(60), arguments: [String]) {
            self.updateGrace = updateGrace
            self.arguments = arguments
        }
    }

    let settings: DTMASettings
    let options: Options
    let log: DTMALog

    public init(settings: DTMASettings, options: Options, log: DTMALog) {
        self.settings = settings
        self.options = options
        self.log = log
    }

    /// Runs until the task is cancelled (SIGTERM); only a broken state folder ends it with an error.
    public func run() async throws(DTMAError) {
        try settings.prepareStateDirectory()
        let updater = SelfUpdater(settings: settings, log: log, arguments: options.arguments)
        await updater.start()
        log.notice(
            "agentbox dtma \(AgentboxBuild.version) for toolbox \(settings.toolboxID.uuidString.lowercased()), appliance \(settings.applianceURL)"
                + (settings.pin == nil ? "" : " (TLS pinned to its key)") + ", state in \(settings.stateDirectory)")
        guard let token = await obtainToken() else { return }
        let link = ApplianceLink(settings: settings, token: token)
        let events = EventBuffer(limit: 1000)
        let docker = DockerClient(socketPath: settings.dockerSocket)
        let reconciler = Reconciler(toolboxID: settings.toolboxID, docker: docker, events: { id, kind, message in
            events.add(ReportedEvent(instanceID: id, kind: kind, message: message))
        })
        let calls = CallTracker()
        let isTrial = await updater.isTrial
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await heartbeats(link, docker, reconciler, updater, calls, events) }
            group.addTask { await pollCalls(link, calls) }
            group.addTask { await sendEvents(link, events) }
            if isTrial {
                group.addTask {
                    try? await Task.sleep(for: options.updateGrace)
                    guard !Task.isCancelled else { return }
                    await updater.graceEnded()
                }
            }
            // Every loop runs until cancelled; the trial's watch ends by itself (the trial committed or was rolled back).
            await group.waitForAll()
        }
        log.notice("agentbox dtma stopped; the containers keep running")
    }

    // MARK: - Enrollment

    /// The toolbox token: the one kept in the state folder, else one enrollment (retried with back-off until it works). Nil when cancelled.
    func obtainToken() async -> String? {
        var backoff = ReconnectBackoff(cap: .seconds(60))
        var lastProblem: String?
        while !Task.isCancelled {
            do throws(DTMAError) {
                if let token = try settings.storedToolboxToken() { return token }
                let enrollment = try settings.enrollmentToken()
                log.info("enrolling with the appliance (enrollment token \(DTMALog.prefix(enrollment)))")
                let answer = try await ApplianceLink(settings: settings, token: nil).enroll(enrollmentToken: enrollment)
                guard answer.toolboxID == settings.toolboxID else {
                    throw DTMAError(
                        .enrollment,
                        "the appliance enrolled this agent as toolbox \(answer.toolboxID.uuidString.lowercased()), but \(DTMASettings.toolboxVariable) says "
                            + "\(settings.toolboxID.uuidString.lowercased()); the token is not kept: check \(DTMASettings.toolboxVariable) and the enrollment token file")
                }
                try settings.storeToolboxToken(answer.token)
                log.notice("enrolled: the toolbox token (\(DTMALog.prefix(answer.token))) is kept in \(settings.tokenPath), mode 0600")
                return answer.token
            } catch {
                let problem: String
                if let code = error.applianceCode {
                    problem = "enrollment refused by the appliance (\(code)): \(error.message)"
                } else {
                    problem = "enrollment failed: \(error.message)"
                }
                if problem != lastProblem {
                    log.error(problem + (error.applianceCode == "enrollment_token_used"
                        ? "; the token was used already: if this droplet lost its state folder, create the toolbox again" : ""))
                    lastProblem = problem
                }
                try? await Task.sleep(for: backoff.next())
            }
        }
        return nil
    }

    // MARK: - Heartbeats

    private func heartbeats(_ link: ApplianceLink, _ docker: DockerClient, _ reconciler: Reconciler, _ updater: SelfUpdater, _ calls: CallTracker, _ events: EventBuffer) async {
        var desired: DesiredState?
        var interval = Duration.seconds(10)
        var lastPass: ContinuousClock.Instant?
        var pending: Heartbeat?
        let connection = ConnectionNote(log: log, what: "heartbeats")
        var backoff = ReconnectBackoff()
        while !Task.isCancelled {
            var beat: Heartbeat
            if let ready = pending, let lastPass, ContinuousClock.now - lastPass < interval {
                beat = ready
                beat.sentAt = Date()
            } else if let desired {
                beat = await reconciler.converge(desired)
                lastPass = .now
            } else {
                // Never converge on a guess: until the appliance says what to run, report nothing and touch nothing.
                beat = Heartbeat(
                    toolboxID: settings.toolboxID, agentVersion: AgentboxBuild.version, sentAt: Date(),
                    health: HostHealthProbe.read(dockerReachable: (try? await docker.ping()) != nil), instances: [])
            }
            beat.agentNote = await updater.note
            pending = beat
            let answer: HeartbeatAnswer
            do {
                answer = try await link.heartbeat(beat)
            } catch {
                if Task.isCancelled { return }
                connection.failed(error)
                try? await Task.sleep(for: backoff.next())
                continue
            }
            connection.succeeded()
            backoff.reset()
            pending = nil
            if answer.desired.toolboxID == settings.toolboxID {
                desired = answer.desired
            } else {
                log.error("the appliance sent the desired state of toolbox \(answer.desired.toolboxID.uuidString.lowercased()), not this one's; ignored")
            }
            interval = .milliseconds(max(500, min(answer.heartbeatIntervalMS, 300_000)))
            await updater.heartbeatSucceeded(release: answer.agentRelease)
            if await updater.shouldStart(answer.agentRelease) {
                let release = answer.agentRelease
                Task {
                    guard let path = await updater.prepare(release, link: link) else { return }
                    // Let calls in flight finish (a minute at most) and the last events go, then become the new binary.
                    await calls.drain(for: .seconds(60))
                    if let batch = events.takeAll() { try? await link.send(batch) }
                    await updater.exec(path, version: release.version)
                    await calls.resume()
                }
            }
            guard desired != nil else {
                try? await Task.sleep(for: interval)
                continue
            }
            // Sooner when a crashed container's back-off ends before the next beat.
            var wake = ContinuousClock.now + interval
            if let due = await reconciler.nextDuePass, due < wake { wake = max(due, .now + .milliseconds(200)) }
            try? await Task.sleep(until: wake, clock: .continuous)
        }
    }

    // MARK: - Calls

    private func pollCalls(_ link: ApplianceLink, _ calls: CallTracker) async {
        let runner = ToolCallRunner(redeem: { ticket throws(ToolCallError) in try await link.redeem(ticket) })
        let connection = ConnectionNote(log: log, what: "the call poll")
        var backoff = ReconnectBackoff()
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                await calls.waitWhileDraining()
                await calls.polling(true)
                let batch: CallBatch
                do throws(DTMAError) {
                    batch = try await link.pollCalls()
                } catch {
                    await calls.polling(false)
                    if Task.isCancelled { return }
                    connection.failed(error)
                    try? await Task.sleep(for: backoff.next())
                    continue
                }
                connection.succeeded()
                backoff.reset()
                for relayed in batch.calls {
                    await calls.started()
                    group.addTask {
                        await run(relayed, runner, link)
                        await calls.finished()
                    }
                }
                await calls.polling(false)
            }
        }
    }

    /// One call: the tool's outcome, answered to the appliance (a few tries, since the agent waits for it).
    private func run(_ relayed: RelayedCall, _ runner: ToolCallRunner, _ link: ApplianceLink) async {
        let call = relayed.call
        let outcome: Result<ToolAnswer, ToolCallError>
        do {
            outcome = .success(try await runner.run(call))
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success(let answer):
            log.info("call \(relayed.requestID) \(call.capability) on instance \(call.instanceID.uuidString.prefix(8)): status \(answer.status)")
        case .failure(let error):
            log.warning("call \(relayed.requestID) \(call.capability) on instance \(call.instanceID.uuidString.prefix(8)): \(error.code)")
        }
        let answer = RelayedAnswer(outcome)
        var backoff = ReconnectBackoff(cap: .seconds(2))
        for attempt in 1...4 {
            do {
                try await link.answer(relayed.callID, answer)
                return
            } catch {
                if error.code == .refused || attempt == 4 || Task.isCancelled {
                    log.warning("call \(relayed.requestID): the answer could not be delivered: \(error.message)")
                    return
                }
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    // MARK: - Events

    private func sendEvents(_ link: ApplianceLink, _ events: EventBuffer) async {
        var backoff = ReconnectBackoff()
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            guard let batch = events.takeAll() else { continue }
            do {
                try await link.send(batch)
                backoff.reset()
            } catch {
                if error.code == .refused && (error.status ?? 500) < 500 {
                    log.warning("the appliance refused \(batch.events.count) instance events; dropped: \(error.message)")
                    continue
                }
                events.putBack(batch.events)
                try? await Task.sleep(for: backoff.next())
            }
        }
    }
}

/// Reconciler events waiting to be sent: at most `limit`, the oldest dropped first.
final class EventBuffer: Sendable {
    private let events = Mutex<[ReportedEvent]>([])
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    func add(_ event: ReportedEvent) {
        events.withLock { events in
            events.append(event)
            if events.count > limit { events.removeFirst(events.count - limit) }
        }
    }

    /// Everything waiting, oldest first; nil when nothing is.
    func takeAll() -> EventBatch? {
        let taken = events.withLock { events in
            defer { events.removeAll() }
            return events
        }
        return taken.isEmpty ? nil : EventBatch(events: taken)
    }

    /// A batch that could not be sent goes back before anything newer, within the limit.
    func putBack(_ batch: [ReportedEvent]) {
        events.withLock { events in
            events = batch + events
            if events.count > limit { events.removeFirst(events.count - limit) }
        }
    }

    var count: Int { events.withLock { $0.count } }
}

/// Jittered exponential back-off ("full jitter"): a random wait up to `base` doubling per failure, at most `cap`.
struct ReconnectBackoff: Sendable {
    let base: Duration
    let cap: Duration
    private(set) var failures = 0

    init(base: Duration = .milliseconds(500), cap: Duration = .seconds(30)) {
        self.base = base
        self.cap = cap
    }

    /// The ceiling of the next wait.
    var ceiling: Duration { min(cap, base * (1 << min(failures, 20))) }

    mutating func next() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    mutating func next(using random: inout some RandomNumberGenerator) -> Duration {
        let limit = ceiling.wholeMilliseconds
        failures += 1
        return .milliseconds(Int64.random(in: 0...max(limit, 1), using: &random))
    }

    mutating func reset() { failures = 0 }
}

/// Logs a lost connection once and its return once, however many tries lie between.
final class ConnectionNote: Sendable {
    private let down = Mutex<String?>(nil)
    let log: DTMALog
    let what: String

    init(log: DTMALog, what: String) {
        self.log = log
        self.what = what
    }

    func failed(_ error: DTMAError) {
        let kind = error.code == .unauthorized ? "unauthorized" : error.code == .refused ? "refused" : "unreachable"
        let changed = down.withLock { state in
            defer { state = kind }
            return state != kind
        }
        guard changed else { return }
        if error.code == .unauthorized {
            log.error(
                "\(what): the appliance refuses this toolbox's token (401\(error.applianceCode.map { " \($0)" } ?? "")): the toolbox was deprovisioned or "
                    + "its token revoked; retrying with back-off. The containers keep running")
        } else if error.code == .refused {
            log.warning("\(what): the appliance answers with an error (\(error.message)); retrying with back-off, the containers keep running")
        } else {
            log.warning("\(what): lost the appliance (\(error.message)); reconnecting with back-off, the containers keep running")
        }
    }

    func succeeded() {
        let was = down.withLock { state in
            defer { state = nil }
            return state
        }
        if was != nil { log.notice("\(what): the appliance answers again") }
    }
}

/// The calls in flight, so that a self-update can wait for them (and stop taking new ones) before it `exec`s.
actor CallTracker {
    private var running = 0
    /// A poll is open: calls it brings must run before an `exec`.
    private var polls = false
    private var draining = false
    private var resumed: [CheckedContinuation<Void, Never>] = []

    func started() { running += 1 }

    func finished() { running -= 1 }

    func polling(_ open: Bool) { polls = open }

    /// Stops new polls and waits until the open poll has ended and no call runs, or `limit` passes.
    func drain(for limit: Duration) async {
        draining = true
        let deadline = ContinuousClock.now + limit
        while (running > 0 || polls) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Takes polls up again (the `exec` failed).
    func resume() {
        draining = false
        for waiter in resumed { waiter.resume() }
        resumed.removeAll()
    }

    func waitWhileDraining() async {
        guard draining else { return }
        await withCheckedContinuation { resumed.append($0) }
    }
}

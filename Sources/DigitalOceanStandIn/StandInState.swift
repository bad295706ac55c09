import Foundation
import Logging

/// How the stand-in answers one request, decided before its route runs.
struct Admission: Sendable {
    enum Verdict: Sendable {
        case proceed
        case reject(StandInError)
        case drop
    }

    let verdict: Verdict
    /// Injected delay before the answer.
    let latencyMilliseconds: Int
    let rateLimit: RateLimitStatus
}

/// One line of the request log of `GET /_sim/state`.
struct RequestLogEntry: Sendable {
    let method: String
    let path: String
    let query: String
    /// 0 when the connection was dropped without an answer.
    let status: Int
}

/// The simulated cloud: droplets, actions, faults, rate-limit windows and the request log, behind one actor.
///
/// Time moves lazily: every entry point first settles the actions whose time has come, so an answer is the
/// same whether or not anybody asked in between.
actor StandInState {
    let catalog = Catalog.standard
    private let configuration: StandInConfiguration
    private let logger: Logger
    private var timings: StandInTimings
    private var droplets: [Int: DropletRecord] = [:]
    private var actions: [Int: ActionRecord] = [:]
    /// Actions whose effect on their droplet is still to come.
    private var pendingActions: [Int] = []
    private var faults = FaultPlan()
    private var limiter: RateLimiter
    private var requests: [RequestLogEntry] = []
    /// Never reset, so an id is never reused.
    private var dropletCount = 0
    private var actionCount = 0
    private var singlePageAnswers = 0
    /// Counts resets, so that the droplet booter knows every droplet it runs is gone.
    private var resets = 0
    /// Droplets deleted since the droplet booter last looked (only kept when droplets boot).
    private var deletedSinceBootView: [Int] = []

    /// Ids look like DigitalOcean's; action ids do not fit in 32 bits, as theirs do not.
    static let firstDropletID = 500_000_001
    static let firstActionID = 2_400_000_001

    init(configuration: StandInConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        timings = configuration.timings
        limiter = RateLimiter(limits: configuration.rateLimits)
    }

    // MARK: Requests

    /// Applies authentication, rate limits and the scripted faults to a `/v2` request, in that order.
    func admit(token: String, authorized: Bool, method: String, path: String, now: Date) -> Admission {
        func answer(_ verdict: Admission.Verdict) -> Admission {
            Admission(verdict: verdict, latencyMilliseconds: faults.latencyMilliseconds, rateLimit: limiter.status(token, now: now))
        }
        guard authorized else { return answer(.reject(.unauthorized)) }
        if let retryAfter = faults.takeBurst() { return answer(.reject(.tooManyRequests(retryAfter: retryAfter))) }
        if let retryAfter = limiter.admit(token, now: now) { return answer(.reject(.tooManyRequests(retryAfter: retryAfter))) }
        if let failure = faults.takeFailure(method: method, path: path) {
            return answer(failure.status.map { .reject(.injected(status: $0)) } ?? .drop)
        }
        return answer(.proceed)
    }

    /// The rate-limit headers for a request that does not count (the control API).
    func rateLimitStatus(token: String, now: Date) -> RateLimitStatus {
        limiter.status(token, now: now)
    }

    func log(_ entry: RequestLogEntry) {
        requests.append(entry)
    }

    /// DigitalOcean shows a list that fits on one page without links, with `{}`, or with `{"pages": {}}`: take turns.
    func nextSinglePageLinks() -> SinglePageLinks {
        defer { singlePageAnswers += 1 }
        return SinglePageLinks.allCases[singlePageAnswers % SinglePageLinks.allCases.count]
    }

    // MARK: Droplets

    /// Creates the droplets of a validated request and their create actions.
    /// `dropConnection` says the client is to get no answer (a scripted `drop_after_create`).
    func createDroplets(_ spec: DropletSpec, now: Date) throws(StandInError)
        -> (droplets: [DropletRecord], actions: [ActionRecord], dropConnection: Bool)
    {
        settle(now)
        guard droplets.count + spec.names.count <= configuration.dropletLimit else {
            throw .unprocessable("creating this/these droplet(s) will exceed your droplet limit")
        }
        var created: [(DropletRecord, ActionRecord)] = []
        for name in spec.names {
            let activeAt = now.addingTimeInterval(timings.activeAfter)
            let droplet = DropletRecord(
                id: Self.firstDropletID + dropletCount, sequence: dropletCount, name: name, image: spec.image, size: spec.size,
                disk: spec.size.disk, region: spec.region, tags: spec.tags, userData: spec.userData, vpcUUID: spec.vpcUUID ?? spec.region.defaultVPC,
                features: spec.features, ipv6: spec.ipv6, createdAt: now, visibleAt: now.addingTimeInterval(timings.notFoundFor), activeAt: activeAt,
                addressedAt: activeAt.addingTimeInterval(timings.ipAfter), lockedUntil: activeAt)
            dropletCount += 1
            let action = startAction(.create, on: droplet, now: now, until: activeAt, failure: faults.takePlacementFailure())
            droplets[droplet.id] = droplet
            created.append((droplet, action))
        }
        return (created.map(\.0), created.map(\.1), faults.takeDropAfterCreate())
    }

    /// A droplet the API shows: 404 before it is visible, after deletion, and after a failed placement.
    func droplet(_ id: Int, now: Date) throws(StandInError) -> DropletRecord {
        settle(now)
        guard let droplet = droplets[id], droplet.isVisible(at: now) else { throw .notFound }
        return droplet
    }

    /// The visible droplets, oldest first, optionally those with a tag or a name.
    func droplets(tag: String?, name: String?, now: Date) -> [DropletRecord] {
        settle(now)
        return droplets.values
            .filter { droplet in droplet.isVisible(at: now) && (tag.map(droplet.tags.contains) ?? true) && (name.map { droplet.name == $0 } ?? true) }
            .sorted { $0.id < $1.id }
    }

    func deleteDroplet(_ id: Int, now: Date) throws(StandInError) {
        _ = try droplet(id, now: now)
        droplets[id] = nil
        if configuration.boot != nil { deletedSinceBootView.append(id) }
    }

    /// Deletes every droplet with the tag, including those not visible yet.
    func deleteDroplets(tag: String, now: Date) {
        settle(now)
        let deleted = droplets.values.filter { $0.tags.contains(tag) }.map(\.id).sorted()
        for id in deleted { droplets[id] = nil }
        if configuration.boot != nil { deletedSinceBootView += deleted }
    }

    /// What the droplet booter needs, after settling due actions: the droplets with their status and user-data,
    /// the droplets deleted since it last asked, and how many resets there have been.
    func bootView(now: Date) -> BootView {
        settle(now)
        defer { deletedSinceBootView = [] }
        return BootView(
            resets: resets, deleted: deletedSinceBootView,
            droplets: droplets.values.sorted { $0.id < $1.id }.map { droplet in
                BootView.Droplet(id: droplet.id, status: droplet.status, userData: droplet.userData, reboots: droplet.reboots)
            })
    }

    // MARK: Actions

    /// Starts an action on a droplet; refuses it as DigitalOcean does when the droplet is busy or the action does not fit.
    func startAction(_ kind: ActionKind, onDroplet id: Int, now: Date) throws(StandInError) -> ActionRecord {
        var droplet = try droplet(id, now: now)
        guard !droplet.isLocked(at: now) else { throw .unprocessable("Droplet already has a pending event.") }
        if case .resize(let size, let disk) = kind {
            guard droplet.status == .off else { throw .unprocessable("Droplet is currently on. Please power it off to run this event.") }
            guard size.regions.contains(droplet.region.slug) else { throw .unprocessable("Size is not available in this region.") }
            guard size.disk >= droplet.disk, !disk || size.disk >= droplet.size.disk else {
                throw .unprocessable("Size can not decrease size of Droplet's disk image")
            }
        }
        let completesAt = now.addingTimeInterval(timings.actionDuration)
        droplet.lockedUntil = completesAt
        droplets[id] = droplet
        return startAction(kind, on: droplet, now: now, until: completesAt, failure: nil)
    }

    func action(_ id: Int, now: Date) throws(StandInError) -> ActionRecord {
        settle(now)
        guard let action = actions[id] else { throw .notFound }
        return action
    }

    /// Every action, or a visible droplet's, oldest first.
    func actions(ofDroplet dropletID: Int?, now: Date) throws(StandInError) -> [ActionRecord] {
        if let dropletID { _ = try droplet(dropletID, now: now) } else { settle(now) }
        return actions.values.filter { dropletID == nil || $0.dropletID == dropletID }.sorted { $0.id < $1.id }
    }

    private func startAction(_ kind: ActionKind, on droplet: DropletRecord, now: Date, until completesAt: Date, failure: String?) -> ActionRecord {
        let action = ActionRecord(
            id: Self.firstActionID + actionCount, kind: kind, dropletID: droplet.id, region: droplet.region, startedAt: now, completesAt: completesAt,
            failure: failure)
        actionCount += 1
        actions[action.id] = action
        pendingActions.append(action.id)
        return action
    }

    /// Gives every action whose time has come its effect, in the order they complete.
    private func settle(_ now: Date) {
        let due = pendingActions.compactMap { actions[$0] }.filter { $0.completesAt <= now }.sorted { $0.completesAt < $1.completesAt }
        guard !due.isEmpty else { return }
        pendingActions.removeAll { id in due.contains { $0.id == id } }
        for action in due {
            guard var droplet = droplets[action.dropletID] else { continue }
            switch action.kind {
            case .create:
                if let failure = action.failure {
                    logger.notice("droplet \(droplet.id) (\(droplet.name)) failed placement: \(failure)")
                    droplets[droplet.id] = nil
                    continue
                }
                droplet.status = .active
            case .powerOff, .shutdown: droplet.status = .off
            case .powerOn: droplet.status = .active
            case .reboot:
                droplet.status = .active
                droplet.reboots += 1
            case .resize(let size, let disk):
                droplet.size = size
                if disk { droplet.disk = size.disk }
            }
            droplets[droplet.id] = droplet
        }
    }

    // MARK: Control

    /// Adds faults and timing changes; timings apply to droplets and actions started from now on.
    func addFaults(_ request: FaultRequest) {
        faults.add(request)
        timings = request.timings.applied(to: timings)
    }

    /// Clears every fault and restores the timings the stand-in was started with.
    func clearFaults() {
        faults = FaultPlan()
        timings = configuration.timings
    }

    var faultsJSON: JSONValue {
        faults.json.adding([
            ("active_after_seconds", .double(timings.activeAfter)), ("ip_after_seconds", .double(timings.ipAfter)),
            ("action_seconds", .double(timings.actionDuration)), ("not_found_for_seconds", .double(timings.notFoundFor)),
        ])
    }

    /// Every live droplet (visible or not, with its `user_data`), every action and every `/v2` request so far.
    func snapshot(now: Date) -> JSONValue {
        settle(now)
        let droplets = droplets.values.sorted { $0.id < $1.id }.map { droplet in
            droplet.json(at: now, catalog: catalog)
                .adding([("visible", .bool(droplet.isVisible(at: now))), ("user_data", JSONValue(droplet.userData))])
        }
        let actions = actions.values.sorted { $0.id < $1.id }.map { action in
            action.json(at: now, catalog: catalog).adding([("failure", JSONValue(action.failure))])
        }
        let requests = requests.map { entry -> JSONValue in
            ["method": .string(entry.method), "path": .string(entry.path), "query": .string(entry.query), "status": .int(entry.status)]
        }
        return ["droplets": .array(droplets), "actions": .array(actions), "requests": .array(requests)]
    }

    /// Forgets droplets, actions, faults, timing changes, the request log and the rate-limit windows.
    func reset() {
        resets += 1
        droplets = [:]
        actions = [:]
        pendingActions = []
        requests = []
        limiter.reset()
        clearFaults()
    }
}

/// The droplets as the droplet booter sees them on one tick.
struct BootView: Sendable {
    struct Droplet: Sendable {
        let id: Int
        let status: DropletStatus
        let userData: String?
        let reboots: Int
    }

    /// Resets of the stand-in so far.
    let resets: Int
    /// Droplets deleted (by id or by tag) since the previous view, in order.
    let deleted: [Int]
    /// Every live droplet, visible or not.
    let droplets: [Droplet]
}

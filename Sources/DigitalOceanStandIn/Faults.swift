import Foundation

/// Which requests a scripted failure hits: all, or those of one method and path prefix.
struct RequestMatcher: Sendable {
    let method: String?
    let pathPrefix: String?

    func matches(method: String, path: String) -> Bool {
        (self.method.map { $0.uppercased() == method } ?? true) && (pathPrefix.map { path.hasPrefix($0) } ?? true)
    }
}

/// The answer scripted for the next `remaining` matching requests: an error status, or (status nil) a dropped connection.
struct ScriptedFailure: Sendable {
    let matcher: RequestMatcher
    let status: Int?
    var remaining: Int

    var json: JSONValue {
        let status: [(String, JSONValue)] = self.status.map { [("status", .int($0))] } ?? []
        return .object(status + [("count", .int(remaining)), ("method", JSONValue(matcher.method)), ("path_prefix", JSONValue(matcher.pathPrefix))])
    }
}

/// One `POST /_sim/faults` body, checked before anything changes.
struct FaultRequest: Sendable {
    var latencyMilliseconds: Int?
    var failures: [ScriptedFailure] = []
    var rateLimitBurst: (count: Int, retryAfter: Int)?
    var dropsAfterCreate = 0
    var placementFailures: [String] = []
    var timings = TimingOverrides()

    /// New timings; nil leaves one as it is.
    struct TimingOverrides: Sendable {
        var activeAfter: Double?
        var ipAfter: Double?
        var actionDuration: Double?
        var notFoundFor: Double?

        func applied(to timings: StandInTimings) -> StandInTimings {
            StandInTimings(
                activeAfter: activeAfter ?? timings.activeAfter, ipAfter: ipAfter ?? timings.ipAfter,
                actionDuration: actionDuration ?? timings.actionDuration, notFoundFor: notFoundFor ?? timings.notFoundFor)
        }
    }

    static let keys = [
        "latency_ms", "fail", "drop", "rate_limit_burst", "drop_after_create", "placement_failure", "active_after_seconds", "ip_after_seconds",
        "action_seconds", "not_found_for_seconds",
    ]

    init(_ body: JSONValue) throws(StandInError) {
        guard case .object = body else { throw .badRequest("Send a JSON object of faults, e.g. {\"latency_ms\": 200}.") }
        if let unknown = body.keys.first(where: { !Self.keys.contains($0) }) {
            throw .unprocessable("'\(unknown)' is not a fault; known: \(Self.keys.joined(separator: ", ")).")
        }
        latencyMilliseconds = try Self.count(body["latency_ms"], "latency_ms")
        failures = try Self.failures(body["fail"], key: "fail", statusRequired: true)
        failures += try Self.failures(body["drop"], key: "drop", statusRequired: false)
        if let burst = body["rate_limit_burst"] {
            let count = try Self.count(burst["count"], "rate_limit_burst.count") ?? 1
            rateLimitBurst = (count, try Self.count(burst["retry_after"], "rate_limit_burst.retry_after") ?? 1)
        }
        dropsAfterCreate = try Self.count(body["drop_after_create"], "drop_after_create") ?? 0
        if let placement = body["placement_failure"] {
            let count = try Self.count(placement["count"], "placement_failure.count") ?? 1
            let message = placement["message"]?.string ?? "No capacity for this droplet in its region (scripted placement failure)."
            placementFailures = Array(repeating: message, count: count)
        }
        timings = TimingOverrides(
            activeAfter: try Self.seconds(body["active_after_seconds"], "active_after_seconds"),
            ipAfter: try Self.seconds(body["ip_after_seconds"], "ip_after_seconds"),
            actionDuration: try Self.seconds(body["action_seconds"], "action_seconds"),
            notFoundFor: try Self.seconds(body["not_found_for_seconds"], "not_found_for_seconds"))
    }

    private static func failures(_ value: JSONValue?, key: String, statusRequired: Bool) throws(StandInError) -> [ScriptedFailure] {
        guard let value else { return [] }
        guard let rules = value.array else {
            throw .unprocessable("\(key) must be a list of rules like {\"count\": 1, \"method\": \"POST\", \"path_prefix\": \"/v2/droplets\"}.")
        }
        var failures: [ScriptedFailure] = []
        for rule in rules {
            var status: Int?
            if statusRequired {
                guard let code = rule["status"]?.int, (400...599).contains(code) else {
                    throw .unprocessable("Each fail rule needs a status from 400 to 599, e.g. 503.")
                }
                status = code
            }
            let matcher = RequestMatcher(method: rule["method"]?.string, pathPrefix: rule["path_prefix"]?.string)
            failures.append(ScriptedFailure(matcher: matcher, status: status, remaining: try count(rule["count"], "\(key).count") ?? 1))
        }
        return failures
    }

    private static func count(_ value: JSONValue?, _ name: String) throws(StandInError) -> Int? {
        guard let value else { return nil }
        guard let number = value.int, number >= 0 else { throw .unprocessable("\(name) must be a whole number, 0 or more.") }
        return number
    }

    private static func seconds(_ value: JSONValue?, _ name: String) throws(StandInError) -> Double? {
        guard let value else { return nil }
        guard let number = value.number, number >= 0, number <= 86_400 else {
            throw .unprocessable("\(name) must be a number of seconds from 0 to 86400.")
        }
        return number
    }
}

/// The faults in force. They add up: counts accumulate and rules queue; `latency_ms` replaces the previous latency.
struct FaultPlan: Sendable {
    private(set) var latencyMilliseconds = 0
    private var failures: [ScriptedFailure] = []
    private var burst = (remaining: 0, retryAfter: 1)
    private var dropsAfterCreate = 0
    private var placementFailures: [String] = []

    mutating func add(_ request: FaultRequest) {
        if let latency = request.latencyMilliseconds { latencyMilliseconds = latency }
        failures += request.failures.filter { $0.remaining > 0 }
        if let extra = request.rateLimitBurst { burst = (burst.remaining + extra.count, extra.retryAfter) }
        dropsAfterCreate += request.dropsAfterCreate
        placementFailures += request.placementFailures
    }

    /// The retry-after of a scripted 429, if one is due.
    mutating func takeBurst() -> Int? {
        guard burst.remaining > 0 else { return nil }
        burst.remaining -= 1
        return burst.retryAfter
    }

    /// The first scripted failure that matches, used up by one.
    mutating func takeFailure(method: String, path: String) -> ScriptedFailure? {
        guard let index = failures.firstIndex(where: { $0.matcher.matches(method: method, path: path) }) else { return nil }
        failures[index].remaining -= 1
        let failure = failures[index]
        if failure.remaining == 0 { failures.remove(at: index) }
        return failure
    }

    mutating func takeDropAfterCreate() -> Bool {
        guard dropsAfterCreate > 0 else { return false }
        dropsAfterCreate -= 1
        return true
    }

    /// Why the next created droplet fails placement, if it is scripted to.
    mutating func takePlacementFailure() -> String? {
        placementFailures.isEmpty ? nil : placementFailures.removeFirst()
    }

    var json: JSONValue {
        [
            "latency_ms": .int(latencyMilliseconds), "fail": .array(failures.filter { $0.status != nil }.map(\.json)),
            "drop": .array(failures.filter { $0.status == nil }.map(\.json)),
            "rate_limit_burst": ["count": .int(burst.remaining), "retry_after": .int(burst.retryAfter)],
            "drop_after_create": .int(dropsAfterCreate),
            "placement_failure": ["count": .int(placementFailures.count), "messages": JSONValue(placementFailures)],
        ]
    }
}

/// When to pull again an image whose registry was down (``DockerHost/DockerError/isRegistryOutage``): 1, 2, 4, 8
/// and 16 seconds after the first failures, then every 30 seconds; after ``maximumAttempts`` failed pulls (about ten
/// minutes) the deploy is given up as `error` (its user starts it again).
public struct PullBackoff: Sendable, Equatable {
    /// Failed pulls before the instance is reported as `error`.
    public static let maximumAttempts = 25
    /// The longest wait between two pulls.
    public static let longestWait: Duration = .seconds(30)

    /// Pulls that failed so far.
    public private(set) var failures = 0
    /// When the next pull may be tried.
    public private(set) var nextAttempt: ContinuousClock.Instant?

    public init() {}

    /// Whether the attempts are used up.
    public var exhausted: Bool { failures >= Self.maximumAttempts }

    /// The wait after failure number `failures`.
    public var delay: Duration {
        failures == 0 ? .zero : min(.seconds(1 << min(failures - 1, 5)), Self.longestWait)
    }

    /// Notes a failed pull at `now`.
    public mutating func failed(now: ContinuousClock.Instant) {
        failures += 1
        nextAttempt = now + delay
    }

    /// Whether a pull may be tried at `now`.
    public func due(now: ContinuousClock.Instant) -> Bool {
        nextAttempt.map { now >= $0 } ?? true
    }
}

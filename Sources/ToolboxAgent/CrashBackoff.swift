/// When to start again a container that keeps crashing: at once the first time, then 1, 2, 4, 8 and 16
/// seconds after each further crash was noticed; after ``maximumRestarts`` restarts that did not last ``stableRun``, the instance is given up
/// as `error` (its user starts it again). A run that lasted ``stableRun`` forgets the earlier crashes.
public struct CrashBackoff: Sendable, Equatable {
    /// Restarts tried before the instance is reported as `error`.
    public static let maximumRestarts = 6
    /// A run at least this long counts as healthy and resets the count.
    public static let stableRun: Duration = .seconds(30)

    /// Restarts made since the last stable run.
    public private(set) var restarts = 0
    /// When the last restart was made.
    public private(set) var lastStart: ContinuousClock.Instant?
    /// When the crash that the next restart answers was first noticed.
    private var crashedAt: ContinuousClock.Instant?

    public init() {}

    /// The wait before restart number `restarts + 1`.
    public var delay: Duration {
        restarts == 0 ? .zero : .seconds(1 << min(restarts - 1, 4))
    }

    /// Whether restarts are used up.
    public var exhausted: Bool { restarts >= Self.maximumRestarts }

    /// When the next restart may be made.
    public func nextStart(now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        max(now, (crashedAt ?? now) + delay)
    }

    /// Notes a crash seen at `now` (again, while its restart waits): a run since the last restart that lasted
    /// ``stableRun`` clears the count.
    public mutating func crashed(now: ContinuousClock.Instant) {
        if crashedAt == nil, let lastStart, now - lastStart >= Self.stableRun { self = CrashBackoff() }
        if crashedAt == nil { crashedAt = now }
    }

    /// Notes a restart made at `now`.
    public mutating func restarted(now: ContinuousClock.Instant) {
        restarts += 1
        lastStart = now
        crashedAt = nil
    }
}

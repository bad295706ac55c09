/// How the client waits between tries of a failed call: exponential back-off from `base`, doubling, capped at
/// `cap`, with full jitter, at most `attempts` tries; a `retry-after` or `ratelimit-reset` from DigitalOcean wins
/// over the computed delay (official clients: 1 s doubling, capped at 30 s, about 4 tries).
public struct RetryPolicy: Sendable {
    public var base: Duration
    public var cap: Duration
    public var attempts: Int
    /// How long a create whose answer was lost waits for DigitalOcean to list the droplet it may have made, before
    /// creating again (a droplet just accepted may be missing from lists for a few seconds).
    public var listingGrace: Duration

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(30), attempts: Int = 5, listingGrace: Duration = .seconds(10)) {
        self.base = base
        self.cap = cap
        self.attempts = max(1, attempts)
        self.listingGrace = listingGrace
    }

    /// The wait before try `attempt + 1` (after `attempt` failed tries, from 1); `asked` is what the server asked for.
    func delay(after attempt: Int, asked: Duration?) -> Duration {
        if let asked { return min(asked, cap * 4) }
        let exponential = base * (1 << min(attempt - 1, 20))
        let ceiling = min(exponential, cap)
        return ceiling * Double.random(in: 0.5...1.0)
    }
}

import Foundation
import Synchronization

/// What the last answer said about the token's rate limit (`ratelimit-limit`, `ratelimit-remaining`,
/// `ratelimit-reset`), and the pause that keeps the client from running into it: once fewer than a tenth of the
/// requests are left (at least 5), calls are spread over the time until the window resets.
final class RateLimitTracker: Sendable {
    private struct Window {
        var limit: Int
        var remaining: Int
        var reset: Date
    }

    private let window = Mutex<Window?>(nil)

    /// Notes the headers of an answer (errors carry them too).
    func note(limit: String?, remaining: String?, reset: String?) {
        guard let limit = limit.flatMap(Int.init), let remaining = remaining.flatMap(Int.init), let reset = reset.flatMap(Double.init) else { return }
        window.withLock { $0 = Window(limit: limit, remaining: remaining, reset: Date(timeIntervalSince1970: reset)) }
    }

    /// How long to wait before the next request; zero while plenty are left.
    func pause(now: Date = Date()) -> Duration {
        window.withLock { window in
            guard let current = window, current.remaining < max(5, current.limit / 10) else { return .zero }
            let untilReset = max(0, current.reset.timeIntervalSince(now))
            guard untilReset > 0 else { return .zero }
            // Spread what is left over the rest of the window; none left: wait for the reset.
            let share = current.remaining > 0 ? untilReset / Double(current.remaining + 1) : untilReset
            window?.remaining = max(0, current.remaining - 1)
            return .milliseconds(Int(min(share, 60) * 1000))
        }
    }

    /// The seconds until the window resets, when the last answer said.
    func untilReset(now: Date = Date()) -> Duration? {
        window.withLock { window in
            window.map { .milliseconds(Int(max(0, $0.reset.timeIntervalSince(now)) * 1000)) }
        }
    }
}

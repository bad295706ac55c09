import Foundation

/// What the rate-limit headers of an answer say.
struct RateLimitStatus: Sendable {
    /// Requests allowed an hour.
    let limit: Int
    let remaining: Int
    /// Epoch second at which the oldest counted request leaves the hour window.
    let reset: Int
}

/// DigitalOcean's two sliding windows per token: so many requests in any minute and in any hour.
///
/// Only admitted requests count, so a `retry-after` is exact. The headers report the hourly window, as DigitalOcean's do.
struct RateLimiter: Sendable {
    let limits: RateLimits
    /// Per token, the times of its admitted requests of the last hour, oldest first.
    private var windows: [String: [Date]] = [:]

    init(limits: RateLimits) {
        self.limits = limits
    }

    /// Counts a request, or answers how many seconds to wait when a window is full.
    mutating func admit(_ token: String, now: Date) -> Int? {
        var times = windows[token, default: []]
        times.removeAll { now.timeIntervalSince($0) >= 3600 }
        defer { windows[token] = times }
        let lastMinute = times.drop(while: { now.timeIntervalSince($0) >= 60 })
        if lastMinute.count >= limits.perMinute, let oldest = lastMinute.first {
            return Self.secondsUntil(oldest.addingTimeInterval(60), from: now)
        }
        if times.count >= limits.perHour, let oldest = times.first {
            return Self.secondsUntil(oldest.addingTimeInterval(3600), from: now)
        }
        times.append(now)
        return nil
    }

    func status(_ token: String, now: Date) -> RateLimitStatus {
        let times = windows[token, default: []].filter { now.timeIntervalSince($0) < 3600 }
        let reset = times.first.map { $0.addingTimeInterval(3600) } ?? now
        return RateLimitStatus(
            limit: limits.perHour, remaining: max(0, limits.perHour - times.count), reset: Int(reset.timeIntervalSince1970.rounded(.up)))
    }

    mutating func reset() {
        windows = [:]
    }

    private static func secondsUntil(_ date: Date, from now: Date) -> Int {
        max(1, Int(date.timeIntervalSince(now).rounded(.up)))
    }
}

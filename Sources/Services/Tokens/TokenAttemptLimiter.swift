import Foundation
import Synchronization

/// Slows token guessing down: counts failed token checks per source address and, once a source has used up its
/// allowance, refuses every token check from it (valid tokens too, so a guess cannot be confirmed) until the
/// allowance refills. The allowance is a bucket of `failures` that refills evenly over `period`.
public final class TokenAttemptLimiter: Sendable {
    /// How many failures a source may make at once, and how long the bucket takes to refill; `failures` 0 turns it off.
    public struct Policy: Sendable, Equatable {
        public var failures: Int
        public var period: TimeInterval

        public init(failures: Int, period: TimeInterval = 60) {
            self.failures = failures
            self.period = period
        }

        /// 20 failed attempts a minute per source address.
        public static let standard = Policy(failures: 20)
        public static let off = Policy(failures: 0)
    }

    /// What a check may do now.
    public enum Verdict: Equatable, Sendable {
        case allowed
        /// Refused: retry after this many seconds (at least 1).
        case limited(retryAfter: Int)
    }

    private struct Bucket {
        var allowance: Double
        var updated: Date
    }

    /// Sources are forgotten once their bucket is full again; past this many, the fullest are dropped first.
    static let maximumSources = 10_000

    public let policy: Policy
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(policy: Policy = .standard) {
        self.policy = policy
    }

    /// Whether `source` may have a token checked now.
    public func verdict(for source: String, now: Date = Date()) -> Verdict {
        guard policy.failures > 0 else { return .allowed }
        return buckets.withLock { buckets in
            guard let bucket = buckets[source] else { return .allowed }
            let allowance = refilled(bucket, now: now)
            guard allowance < 1 else { return .allowed }
            return .limited(retryAfter: max(1, Int(((1 - allowance) / rate).rounded(.up))))
        }
    }

    /// Counts a failed check from `source`; true when that used up its allowance (the moment to audit, once).
    @discardableResult
    public func recordFailure(from source: String, now: Date = Date()) -> Bool {
        guard policy.failures > 0 else { return false }
        return buckets.withLock { buckets in
            let allowance = buckets[source].map { refilled($0, now: now) } ?? Double(policy.failures)
            let left = max(0, allowance - 1)
            buckets[source] = Bucket(allowance: left, updated: now)
            if buckets.count > Self.maximumSources { prune(&buckets, now: now) }
            return allowance >= 1 && left < 1
        }
    }

    /// Failures refilled per second.
    private var rate: Double { Double(policy.failures) / policy.period }

    private func refilled(_ bucket: Bucket, now: Date) -> Double {
        min(Double(policy.failures), bucket.allowance + max(0, now.timeIntervalSince(bucket.updated)) * rate)
    }

    /// Drops the sources whose buckets are full again, then the fullest, down to three quarters of the maximum.
    private func prune(_ buckets: inout [String: Bucket], now: Date) {
        let full = Double(policy.failures)
        buckets = buckets.filter { refilled($0.value, now: now) < full }
        guard buckets.count > Self.maximumSources * 3 / 4 else { return }
        let kept = buckets.sorted { refilled($0.value, now: now) < refilled($1.value, now: now) }.prefix(Self.maximumSources * 3 / 4)
        buckets = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
    }
}

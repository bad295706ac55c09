import DockerHost
import Foundation
import Testing

@testable import ToolboxAgent

/// The back-off schedules of crash restarts and of pulls from a registry that is down, and the pull progress line,
/// without an engine.
struct CrashBackoffTests {
    @Test func pullsFromARegistryThatIsDownComeAfterDoublingWaitsCappedAtThirtySecondsAndRunOut() {
        var backoff = PullBackoff()
        var now = ContinuousClock.now
        #expect(backoff.due(now: now) && backoff.delay == .zero)
        var waits: [Duration] = []
        while !backoff.exhausted {
            backoff.failed(now: now)
            guard let next = backoff.nextAttempt else { break }
            #expect(!backoff.due(now: next - .milliseconds(1)) && backoff.due(now: next))
            waits.append(next - now)
            now = next
        }
        #expect(Array(waits.prefix(7)) == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30)])
        #expect(backoff.failures == PullBackoff.maximumAttempts && waits.count == PullBackoff.maximumAttempts)
        let total = waits.dropLast().reduce(Duration.zero, +)
        #expect(total > .seconds(9 * 60) && total < .seconds(11 * 60), "given up after about ten minutes: \(total)")
    }

    @Test func restartsComeAtOnceThenAfterDoublingWaitsAndRunOut() {
        var backoff = CrashBackoff()
        let start = ContinuousClock.now
        var now = start
        var waits: [Duration] = []
        while !backoff.exhausted {
            backoff.crashed(now: now)
            let due = backoff.nextStart(now: now)
            waits.append(due - now)
            now = due
            backoff.restarted(now: now)
            now += .milliseconds(100)  // each restart crashes again after 0.1 s
        }
        #expect(waits == [.zero, .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16)])
        #expect(backoff.restarts == CrashBackoff.maximumRestarts)
    }

    @Test func aRunThatLastedLongEnoughForgetsEarlierCrashes() throws {
        var backoff = CrashBackoff()
        let start = ContinuousClock.now
        for step in 0..<3 {
            let now = start + .seconds(step * 5)
            backoff.crashed(now: now)
            backoff.crashed(now: now + .milliseconds(500))  // seen again by a later pass: the wait still counts from the first sighting
            #expect(backoff.nextStart(now: now + .milliseconds(500)) == now + backoff.delay || backoff.delay < .milliseconds(500))
            backoff.restarted(now: backoff.nextStart(now: now))
        }
        #expect(backoff.restarts == 3)
        let muchLater = try #require(backoff.lastStart) + CrashBackoff.stableRun
        backoff.crashed(now: muchLater)
        #expect(backoff.restarts == 0 && backoff.nextStart(now: muchLater) == muchLater)
    }

    @Test func thePullMeterSumsLayersAndSpeaksAtMostOnceAnInterval() {
        let meter = PullMeter(interval: .seconds(3600))
        #expect(meter.update(PullProgress(status: "Pulling fs layer", id: "a")) == nil)
        let first = meter.update(PullProgress(status: "Downloading", id: "a", current: 1_048_576, total: 2_097_152))
        #expect(first == "downloading 1.0 of 2.0 MB (0 of 1 layers done)")
        #expect(meter.update(PullProgress(status: "Downloading", id: "b", current: 0, total: 1_048_576)) == nil, "within the interval")
        let quick = PullMeter(interval: .zero)
        _ = quick.update(PullProgress(status: "Downloading", id: "a", current: 524_288, total: 1_048_576))
        _ = quick.update(PullProgress(status: "Downloading", id: "b", current: 0, total: 3_145_728))
        #expect(quick.update(PullProgress(status: "Pull complete", id: "a")) == "downloading 1.0 of 4.0 MB (1 of 2 layers done)")
        #expect(quick.update(PullProgress(status: "Status: Downloaded newer image", id: nil)) == nil)
    }
}

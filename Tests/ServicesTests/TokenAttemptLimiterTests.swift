import Foundation
import Services
import Storage
import TestSupport
import Testing

/// Token guessing is slowed per source address: failures use up an allowance that refills over time; while it is
/// used up every check from that address is refused, valid tokens included, and other addresses are not affected.
struct TokenAttemptLimiterTests {
    @Test func failuresUseUpTheAllowanceWhichRefillsEvenly() {
        let limiter = TokenAttemptLimiter(policy: .init(failures: 3, period: 30))
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(limiter.verdict(for: "10.0.0.1", now: start) == .allowed)
        #expect(!limiter.recordFailure(from: "10.0.0.1", now: start))
        #expect(!limiter.recordFailure(from: "10.0.0.1", now: start))
        #expect(limiter.recordFailure(from: "10.0.0.1", now: start), "the third failure uses the allowance up")
        #expect(limiter.verdict(for: "10.0.0.1", now: start) == .limited(retryAfter: 10))
        #expect(limiter.verdict(for: "10.0.0.2", now: start) == .allowed, "another address keeps its own allowance")
        #expect(limiter.verdict(for: "10.0.0.1", now: start + 4) == .limited(retryAfter: 6))
        #expect(limiter.verdict(for: "10.0.0.1", now: start + 10) == .allowed, "one failure refills every 10 s")
        #expect(limiter.recordFailure(from: "10.0.0.1", now: start + 10), "and it is used up again by one more")
    }

    @Test func aZeroPolicyLimitsNothing() {
        let limiter = TokenAttemptLimiter(policy: .off)
        for _ in 0..<100 { limiter.recordFailure(from: "10.0.0.1") }
        #expect(limiter.verdict(for: "10.0.0.1") == .allowed)
    }

    @Test func aLimitedAddressIsRefusedEvenWithAValidTokenAndAuditedOnce() async throws {
        let test = try await TestBackend.make()
        var configuration = ControlPlane.Configuration()
        configuration.tokenAttempts = .init(failures: 2)
        let plane = ControlPlane(backend: test.backend, configuration: configuration)
        let (_, issued) = try await plane.users.create(name: "ada", role: .admin, by: nil)
        #expect(try await plane.tokens.authenticate(issued.token, from: "192.0.2.7").isAdmin)
        for _ in 0..<2 {
            await #expect(throws: ServiceError.self) { try await plane.tokens.authenticate("abx_u_guess", from: "192.0.2.7") }
        }
        let refused = await #expect(throws: ServiceError.self) { try await plane.tokens.authenticate(issued.token, from: "192.0.2.7") }
        #expect(refused?.code == .rateLimited && (refused?.retryAfter ?? 0) >= 1)
        #expect(try await plane.tokens.authenticate(issued.token, from: "192.0.2.8").isAdmin, "another address is not limited")
        #expect(try await plane.tokens.authenticate(issued.token).isAdmin, "checks without an address (offline commands) are not limited")
        let events = try await test.database.snapshot { try $0.auditLogEntries(actorID: nil, page: PageRequest(limit: 100)).items }
        #expect(events.filter { $0.action == "token.rate_limited" }.count == 1)
        #expect(events.filter { $0.action == "token.rejected" }.count == 2, "refused checks of a limited address write nothing")
    }
}

import Foundation
import Synchronization
import Vault

/// Per-call tickets (SECURITY.md, credential hand-out): the appliance mints one for each tool call it accepts,
/// bound to the agent, instance, toolbelt item, capability and request id; the DTMA that runs the call redeems it,
/// once, within seconds, for that agent's credentials. The agent's own token never leaves the appliance.
///
/// Tickets live in memory only (they outlive no restart, which ends the calls they were for) and are kept as
/// BLAKE2b digests: a ticket read from memory could not be redeemed. A redeemed ticket is remembered until it would
/// have expired, so a second redemption says `ticket_used`, not `ticket_invalid`.
public final class CallTickets: Sendable {
    /// What a ticket was minted for.
    public struct Binding: Sendable, Equatable {
        public var agentID: UUID
        public var instanceID: UUID
        public var capability: String
        public var requestID: String

        public init(agentID: UUID, instanceID: UUID, capability: String, requestID: String) {
            self.agentID = agentID
            self.instanceID = instanceID
            self.capability = capability
            self.requestID = requestID
        }
    }

    /// How long a ticket may wait for its redemption.
    public let lifetime: Duration
    private let clock: @Sendable () -> ContinuousClock.Instant

    private struct State {
        var live: [[UInt8]: (binding: Binding, expires: ContinuousClock.Instant)] = [:]
        var used: [[UInt8]: ContinuousClock.Instant] = [:]
        var lastSweep: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    public init(lifetime: Duration = .seconds(30), clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.lifetime = lifetime
        self.clock = clock
    }

    /// A new ticket for one call: `abx_c_` and 43 base64url characters of 32 random bytes.
    public func mint(_ binding: Binding) -> String {
        let ticket = "abx_c_" + TokenFormat.randomText()
        let now = clock()
        state.withLock { state in
            Self.sweep(&state, now: now)
            state.live[Self.digest(ticket)] = (binding, now + lifetime)
        }
        return ticket
    }

    /// The binding of a live ticket, without redeeming it (nil for any other text).
    public func pending(_ ticket: String) -> Binding? {
        let key = Self.digest(ticket)
        return state.withLock { $0.live[key]?.binding }
    }

    /// Redeems a ticket, once: its binding, or `ticket_invalid`, `ticket_used` or `ticket_expired`.
    public func redeem(_ ticket: String) throws(ServiceError) -> Binding {
        let key = Self.digest(ticket)
        let now = clock()
        let outcome: Result<Binding, ServiceError> = state.withLock { state in
            Self.sweep(&state, now: now)
            if let entry = state.live.removeValue(forKey: key) {
                state.used[key] = entry.expires
                guard now <= entry.expires else {
                    return .failure(ServiceError(.forbidden, "the call ticket has expired; the call must be made again", reason: "ticket_expired"))
                }
                return .success(entry.binding)
            }
            if state.used[key] != nil {
                return .failure(ServiceError(.forbidden, "the call ticket was redeemed already; a ticket serves one call", reason: "ticket_used"))
            }
            return .failure(ServiceError(.forbidden, "no call ticket matches; it may be mistyped or older than the appliance's last start", reason: "ticket_invalid"))
        }
        return try outcome.get()
    }

    /// Forgets tickets whose time has passed (an expired live ticket stays until redeemed or until a minute later, to say `ticket_expired`).
    private static func sweep(_ state: inout State, now: ContinuousClock.Instant) {
        if let last = state.lastSweep, now - last < .seconds(10) { return }
        state.lastSweep = now
        state.live = state.live.filter { now - $0.value.expires < .seconds(60) }
        state.used = state.used.filter { now - $0.value < .seconds(60) }
    }

    private static func digest(_ ticket: String) -> [UInt8] {
        Digest.blake2b(Array(ticket.utf8), count: 32)
    }
}

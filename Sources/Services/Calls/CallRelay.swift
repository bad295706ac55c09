import Foundation
import ToolboxProtocol

/// Carries tool calls to droplets' DTMAs over the connections they open (the call-home channel): a droplet's agent
/// keeps a long poll open (`GET /api/v1/dtma/calls`), a call for its toolbox answers that poll at once, and the
/// agent posts the tool's answer back (`POST /api/v1/dtma/calls/{id}/answer`), which resumes the agent's request.
///
/// A call fails fast with `toolbox_unreachable` instead of hanging when the toolbox's agent is not connected: no
/// poll open or just ended, no heartbeat within the grace period, or no pick-up within ``pickUpLimit``.
public actor CallRelay: ToolCallCarrier {
    /// How long a toolbox may go without a heartbeat before calls to it fail fast (as long as it takes to turn unreachable).
    let grace: Duration
    /// How long a queued call waits for its toolbox's agent to pick it up.
    static let pickUpLimit: Duration = .seconds(3)
    /// A poll that ended this recently counts as connected: the agent is about to open the next one.
    static let pollGap: Duration = .seconds(2)

    private struct Waiter {
        let id: UUID
        let continuation: CheckedContinuation<[RelayedCall], Never>
    }

    private struct Pending {
        let toolboxID: UUID
        let continuation: CheckedContinuation<Result<ToolAnswer, ToolCallError>, Never>
    }

    private var waiters: [UUID: [Waiter]] = [:]
    private var queued: [UUID: [RelayedCall]] = [:]
    private var pending: [UUID: Pending] = [:]
    private var lastPoll: [UUID: ContinuousClock.Instant] = [:]
    private var lastHeartbeat: [UUID: ContinuousClock.Instant] = [:]

    public init(grace: Duration) {
        self.grace = grace
    }

    // MARK: - The appliance's side

    /// Hands `call` to the DTMA of droplet toolbox `toolboxID` and waits for its answer.
    public func carry(_ call: ToolCall, toolboxID: UUID) async throws(ToolCallError) -> ToolAnswer {
        if let reason = absence(of: toolboxID) {
            throw ToolCallError(
                .unavailable, "toolbox_unreachable",
                "the toolbox's agent is not connected (\(reason)); its tools keep running, and calls work again once its droplet reconnects")
        }
        let callID = UUID()
        let relayed = RelayedCall(callID: callID, call: call)
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                pending[callID] = Pending(toolboxID: toolboxID, continuation: continuation)
                deliver(relayed, to: toolboxID)
                Task {
                    try? await Task.sleep(for: Self.pickUpLimit)
                    self.expireIfUnpicked(callID, toolboxID: toolboxID)
                }
            }
        } onCancel: {
            Task { await self.finish(callID, .failure(ToolCallError(.timedOut, "toolbox_timeout", "the toolbox's DTMA did not answer in time"))) }
        }
        return try outcome.get()
    }

    /// Why a toolbox's agent counts as not connected; nil when it is.
    private func absence(of toolboxID: UUID) -> String? {
        let now = ContinuousClock.now
        guard let beat = lastHeartbeat[toolboxID] else { return "no heartbeat since the appliance started" }
        if now - beat > grace { return "no heartbeat for \((now - beat).wholeMilliseconds / 1000) s" }
        if waiters[toolboxID]?.isEmpty == false { return nil }
        guard let poll = lastPoll[toolboxID], now - poll <= Self.pollGap else { return "it is not waiting for calls" }
        return nil
    }

    private func deliver(_ call: RelayedCall, to toolboxID: UUID) {
        if var list = waiters[toolboxID], !list.isEmpty {
            let waiter = list.removeFirst()
            waiters[toolboxID] = list
            lastPoll[toolboxID] = .now
            waiter.continuation.resume(returning: [call])
        } else {
            queued[toolboxID, default: []].append(call)
        }
    }

    private func expireIfUnpicked(_ callID: UUID, toolboxID: UUID) {
        guard let index = queued[toolboxID]?.firstIndex(where: { $0.callID == callID }) else { return }
        queued[toolboxID]?.remove(at: index)
        finish(callID, .failure(ToolCallError(.unavailable, "toolbox_unreachable", "the toolbox's agent did not pick the call up within 3 s")))
    }

    private func finish(_ callID: UUID, _ outcome: Result<ToolAnswer, ToolCallError>) {
        guard let entry = pending.removeValue(forKey: callID) else { return }
        entry.continuation.resume(returning: outcome)
    }

    // MARK: - The droplet's side

    /// Notes a heartbeat from `toolboxID`'s agent.
    public func heartbeat(from toolboxID: UUID) {
        lastHeartbeat[toolboxID] = .now
    }

    /// The calls waiting for `toolboxID`, at once if there are any, else the first to arrive within `wait`; none after it.
    public func poll(_ toolboxID: UUID, wait: Duration) async -> [RelayedCall] {
        lastPoll[toolboxID] = .now
        if let calls = queued.removeValue(forKey: toolboxID), !calls.isEmpty { return calls }
        let waiterID = UUID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiters[toolboxID, default: []].append(Waiter(id: waiterID, continuation: continuation))
                Task {
                    try? await Task.sleep(for: wait)
                    self.release(waiterID, of: toolboxID)
                }
            }
        } onCancel: {
            Task { await self.release(waiterID, of: toolboxID) }
        }
    }

    /// Ends a poll with no call, if it still waits.
    private func release(_ waiterID: UUID, of toolboxID: UUID) {
        guard let index = waiters[toolboxID]?.firstIndex(where: { $0.id == waiterID }) else { return }
        let waiter = waiters[toolboxID]!.remove(at: index)
        lastPoll[toolboxID] = .now
        waiter.continuation.resume(returning: [])
    }

    /// The DTMA's answer to call `callID`; refused unless that call is waiting and was sent to `toolboxID`.
    public func answer(_ callID: UUID, from toolboxID: UUID, _ answer: RelayedAnswer) throws {
        guard let entry = pending[callID], entry.toolboxID == toolboxID else {
            throw ServiceError(.notFound, "no call with id \(callID.text) waits for this toolbox's answer (it may have timed out)")
        }
        finish(callID, answer.outcome)
    }
}

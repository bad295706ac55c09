import Foundation
import Services
import Testing
import ToolboxProtocol

/// The call relay between agents' calls and droplets' DTMAs: a call answers a waiting poll and gets the answer the
/// DTMA posts; without a connected DTMA a call fails at once instead of hanging.
struct CallRelayTests {
    private func call() -> ToolCall {
        ToolCall(
            ticket: "abx_c_ticket", requestID: "req-1", agentID: UUID(), instanceID: UUID(), capability: "echo", input: "{}", hostPort: 29001,
            timeout: .seconds(5))
    }

    private func answer(_ text: String) -> RelayedAnswer {
        RelayedAnswer(.success(ToolAnswer(status: 200, body: Array(text.utf8), duration: .milliseconds(3), credentialReport: nil)))
    }

    @Test func aCallAnswersTheWaitingPollAndReturnsWhatTheDTMAPostsBack() async throws {
        let relay = CallRelay(grace: .seconds(30))
        let toolbox = UUID()
        await relay.heartbeat(from: toolbox)
        let poll = Task { await relay.poll(toolbox, wait: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        let call = call()
        let carried = Task { try await relay.carry(call, toolboxID: toolbox) }
        let delivered = await poll.value
        let relayed = try #require(delivered.first)
        #expect(delivered.count == 1 && relayed.ticket == call.ticket && relayed.hostPort == 29001 && relayed.call == call)
        // Another toolbox may not answer it; its own DTMA does.
        await #expect(throws: ServiceError.self) { try await relay.answer(relayed.callID, from: UUID(), answer("{\"no\":1}")) }
        try await relay.answer(relayed.callID, from: toolbox, answer("{\"ok\":true}"))
        let result = try await carried.value
        #expect(result.status == 200 && String(decoding: result.body, as: UTF8.self) == "{\"ok\":true}")
        // A quiet poll ends empty after its wait.
        #expect(await relay.poll(toolbox, wait: .milliseconds(50)).isEmpty)
    }

    @Test func withoutAConnectedDTMACallsFailFastWithTheirCode() async throws {
        let relay = CallRelay(grace: .milliseconds(300))
        let toolbox = UUID()
        func code(_ body: () async throws -> Void) async -> String? {
            do {
                try await body()
                return nil
            } catch let error as ToolCallError {
                return error.code
            } catch {
                return "\(error)"
            }
        }
        let clock = ContinuousClock()
        // Never heard from.
        #expect(await code { _ = try await relay.carry(call(), toolboxID: toolbox) } == "toolbox_unreachable")
        // Beating, but not polling.
        await relay.heartbeat(from: toolbox)
        #expect(await code { _ = try await relay.carry(call(), toolboxID: toolbox) } == "toolbox_unreachable")
        // Polled a moment ago, but never picks the call up: it fails after the pick-up limit, not the tool's time-out.
        _ = await relay.poll(toolbox, wait: .zero)
        let started = clock.now
        #expect(await code { _ = try await relay.carry(call(), toolboxID: toolbox) } == "toolbox_unreachable")
        #expect(clock.now - started < .seconds(5))
        // Silent for longer than the grace: refused at once even with a poll open.
        try await Task.sleep(for: .milliseconds(400))
        let open = Task { await relay.poll(toolbox, wait: .seconds(2)) }
        try await Task.sleep(for: .milliseconds(50))
        let refusedAt = clock.now
        #expect(await code { _ = try await relay.carry(call(), toolboxID: toolbox) } == "toolbox_unreachable")
        #expect(clock.now - refusedAt < .milliseconds(500))
        open.cancel()
    }
}

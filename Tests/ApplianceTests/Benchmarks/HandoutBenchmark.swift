import Foundation
import HTTPClient
import Services
import TestSupport
import Testing

/// `make bench-calls` runs this (AGENTBOX_BENCH=1); it is not part of `make test`. Hand-outs per second through
/// `POST /api/v1/dtma/credentials` with every check and the audit write, served in this process so that it can mint
/// tickets as the execute route does, beside opening the same credential from the vault alone in a loop.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["AGENTBOX_BENCH"] == "1", "a benchmark: run it with make bench-calls"))
struct HandoutBenchmark {
    @Test func handoutsPerSecond() async throws {
        let seconds = Double(ProcessInfo.processInfo.environment["BENCH_SECONDS"] ?? "") ?? 10
        let connections = Int(ProcessInfo.processInfo.environment["BENCH_CONNECTIONS"] ?? "") ?? 8
        let bed = try await ToolbeltTestBed.make()
        let (world, item) = try await bed.belted("bench", owner: bed.ada)
        _ = try await bed.plane.toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: true, by: bed.ada)
        let credential = try await bed.plane.credentials.create(
            itemID: item.id, type: "api_key", credentials: ["api_key": "sk-bench-0123456789"], accountIdentifier: nil, by: bed.ada)
        let token = try await bed.database.transaction { try bed.plane.tokens.issue(.toolbox(world.toolbox.id), name: "bench", in: $0) }.token
        let server = try await InProcessServer.start(bed.plane)
        defer { server.stop() }
        let client = HTTPClient(configuration: .init(timeout: .seconds(10)))
        let url = "http://127.0.0.1:\(server.port)/api/v1/dtma/credentials"
        let plane = bed.plane
        let binding = CallTickets.Binding(agentID: world.agent.id, instanceID: world.instance.id, capability: "gmail_send", requestID: "bench")

        let deadline = ContinuousClock.now + .seconds(seconds)
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for _ in 0..<connections {
                group.addTask {
                    var mine: [Duration] = []
                    while ContinuousClock.now < deadline {
                        let body = Array(#"{"ticket":"\#(plane.tickets.mint(binding))"}"#.utf8)
                        let begin = ContinuousClock.now
                        let response = try await client.send(
                            HTTPRequest(.post, url: url, headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"], body: body))
                        guard response.status == 200 else { throw BenchmarkFailure("the hand-out answered \(response.status): \(response.text)") }
                        mine.append(ContinuousClock.now - begin)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let elapsed = ContinuousClock.now - started

        // The ceiling: the same credential read and opened by the vault, in a loop, without HTTP, checks or audit.
        let sealing = bed.test.credentials
        var opens = 0
        let openStart = ContinuousClock.now
        while ContinuousClock.now - openStart < .seconds(min(seconds, 3)) {
            _ = try await sealing.open(credentialID: credential.id)
            opens += 1
        }
        let openRate = Double(opens) / Self.seconds(ContinuousClock.now - openStart)

        let sorted = latencies.sorted()
        let rate = Double(latencies.count) / Self.seconds(elapsed)
        let audited = try await bed.database.fetchAuditLogEntries(afterSeq: 0, limit: 1_000_000).filter { $0.action == "credential.handout" }.count
        print("""

            credential hand-out benchmark: \(connections) connections, \(Int(seconds)) s, loopback, in-process server, \(Self.build) build, \(ProcessInfo.processInfo.activeProcessorCount) cores
            POST /api/v1/dtma/credentials (toolbox token, ticket, every rule, vault open, audit record, FULL sync):
              \(latencies.count) hand-outs, \(String(format: "%.0f", rate))/s, p50 \(Self.ms(sorted[sorted.count / 2])) ms, p99 \(Self.ms(sorted[sorted.count * 99 / 100])) ms; \(audited) audit records
            vault open alone (read the row, open it; no HTTP, checks or audit): \(String(format: "%.0f", openRate))/s
            hand-outs per second / vault opens per second: \(String(format: "%.2f", rate / openRate))

            """)
        #expect(audited == latencies.count, "one audit record per hand-out")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func ms(_ duration: Duration) -> String { String(format: "%.2f", seconds(duration) * 1000) }

    #if DEBUG
        static let build = "debug"
    #else
        static let build = "release"
    #endif
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

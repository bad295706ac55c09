import Foundation
import Services
import TestSupport
import Testing

/// The agent release read from its file: hashed once, sent from the file, hashed again when the file changes.
struct AgentDistributionTests {
    /// A stand-in agent build: a script that answers `version` like agentbox, padded to span several pieces.
    static func build(_ path: String, version: String, padding: Int) throws {
        let script = "#!/bin/sh\necho 'agentbox \(version)'\nexit 0\n" + String(repeating: "#", count: padding) + "\n"
        try writeFile(atPath: path, contents: Data(script.utf8), attributes: [.posixPermissions: 0o755])
    }

    @Test func aFileThatChangesIsHashedAgainAndOneCutShortWhileSentFailsInsteadOfHanging() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.appending("agentbox")
        try Self.build(path, version: "1.0.0", padding: 3 << 20)
        let distribution = AgentDistribution(binary: path)
        let first = try await distribution.binary()
        #expect(first.release.version == "1.0.0" && first.file.size > 3 << 20)
        var sent = Data()
        try await AgentDistribution.send(first.file) { sent.append($0) }
        #expect(sent == (try Data(contentsOf: URL(fileURLWithPath: path))))

        // Replaced on disk: the next download is of the new build.
        try Self.build(path, version: "1.0.1", padding: 3 << 20)
        let second = try await distribution.binary()
        #expect(second.release.version == "1.0.1" && second.release.sha256 != first.release.sha256)
        #expect(try await distribution.release() == second.release, "heartbeats announce the new release")

        // Cut short while it is sent: the download fails with the reason.
        var pieces = 0
        let failure = await #expect(throws: AgentDistribution.Failure.self) {
            try await AgentDistribution.send(second.file) { _ in
                pieces += 1
                if pieces == 1 { truncate(path, 1 << 20) }
            }
        }
        #expect(failure?.description.contains("got shorter") == true, "\(String(describing: failure))")
    }
}

import Foundation
import TestSupport
import Testing

/// `agentbox serve` as a user starts it.
struct ServeTests {
    @Test func serveAnswersHealthzAndStopsCleanlyOnSigterm() async throws {
        let folder = try TemporaryDirectory()
        let agentbox = AgentboxProcess(folder: folder)
        let server = try await agentbox.serve(["--data-dir", folder.appending("data")])
        let (status, body) = try await server.get("/healthz")
        #expect(status == 200)
        #expect(body.contains(#""status":"ok""#))
        _ = try await server.stop()
        #expect(server.process.terminationStatus == 0)
        for file in ["data", "data/agentbox.sqlite", "data/agentbox.lock", "data/keys", "data/keys/master.key"] {
            let mode = try FileManager.default.attributesOfItem(atPath: folder.appending(file))[.posixPermissions] as? Int ?? -1
            #expect(mode & 0o077 == 0, "\(file) has mode \(String(mode, radix: 8)): group or others can reach it")
        }
    }

    @Test func aSecondServeIsRefusedNamingTheFirstOnesPid() async throws {
        let folder = try TemporaryDirectory()
        let agentbox = AgentboxProcess(folder: folder)
        let data = folder.appending("data")
        let server = try await agentbox.serve(["--data-dir", data])
        let second = try await agentbox.run(["serve", "--port", "0", "--data-dir", data])
        #expect(second.status != 0)
        #expect(second.output.contains("in use by another agentbox process (pid \(server.process.processIdentifier))"))
        for command in [["db", "migrate"], ["vault", "rotate"]] {
            let refused = try await agentbox.run(command + ["--data-dir", data])
            #expect(refused.status != 0, "\(command) must refuse while serve holds the data directory")
            #expect(refused.output.contains("pid \(server.process.processIdentifier)"))
        }
        let check = try await agentbox.run(["db", "check", "--data-dir", data])
        #expect(check.status == 0, "db check only reads: \(check.output)")
        _ = try await server.stop()
    }

    @Test func dataDirectoryAndPortComeFromTheEnvironment() async throws {
        let folder = try TemporaryDirectory()
        var agentbox = AgentboxProcess(folder: folder)
        agentbox.environment = ["AGENTBOX_DATA_DIR": folder.appending("from-env")]
        let server = try await agentbox.serve([])
        #expect(try await server.get("/healthz").status == 200)
        _ = try await server.stop()
        #expect(FileManager.default.fileExists(atPath: folder.appending("from-env/agentbox.sqlite")))
    }
}

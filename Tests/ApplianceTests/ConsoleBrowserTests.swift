import Foundation
import TestSupport
import Testing

/// The web console in a real headless Chromium driven by selenium (Tests/Browser/console_walk.py): a new user's
/// path from sign-in to a running instance with an agent allowed one capability and a stored credential, and the
/// console's security checks along the way. Screenshots go to .build/test-artifacts/console/.
struct ConsoleBrowserTests {
    typealias Deploy = LocalDeployTests

    /// The project's folder, from this file's place in it.
    static let project = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func aNewUsersWalkFromSignInToARunningToolWithAnAgentAndItsCredential() async throws {
        guard let docker = await Deploy.engine() else { return }
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "1", "--port-range", "39650-39699"])
        var toolboxes: [String] = []
        try await Deploy.cleaningUp(docker, api: { api }, toolboxes: { toolboxes }) {
            let bob = try await api.createUser("bob")
            let shots = Self.project + "/.build/test-artifacts/console"
            try? FileManager.default.removeItem(atPath: shots)
            var output = ""
            do {
                output = try await Command.run(
                    [
                        "env", "python3", Self.project + "/Tests/Browser/console_walk.py", "http://127.0.0.1:\(api.server.port)", api.adminToken,
                        bob.token, ToolCallTests.image, shots,
                    ], in: api.folder)
            } catch {
                Issue.record("the walk failed: \(error)\nthe server's log ends with: \(api.server.output.suffix(3000))")
            }
            toolboxes = try await api.request("GET", "/api/v1/toolboxes", token: api.adminToken).items.compactMap { $0["id"] as? String }
            #expect(output.contains("walk: ok"), "\(output)")
            for shot in ["dashboard.png", "toolbelt.png", "dashboard-phone.png"] {
                #expect(FileManager.default.fileExists(atPath: shots + "/" + shot), "no screenshot \(shot)")
            }
            // What the browser did is what the API holds: one running instance, the agent's one allowed capability.
            let toolbox = try #require(toolboxes.first)
            let instances = try await api.request("GET", "/api/v1/toolboxes/\(toolbox)/instances", token: api.adminToken).items
            #expect(instances.count == 1 && instances.first?["status"] as? String == "running", "\(instances)")
        }
    }
}

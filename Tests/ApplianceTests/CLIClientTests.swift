import Foundation
import TestSupport
import Testing

/// The `agentbox` binary as a client of a real server: login, a round trip, and how failures read.
struct CLIClientTests {
    /// The binary with a private HOME and config folder, and optionally a server and token in its environment.
    private struct CLI {
        let process: AgentboxProcess
        let home: String

        init(_ api: TestAPI, token: String? = nil, server: String? = nil) throws {
            home = api.folder.appending("home-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            var process = AgentboxProcess(folder: api.folder)
            process.environment = ["HOME": home, "XDG_CONFIG_HOME": home + "/config"]
            if let token { process.environment["AGENTBOX_TOKEN"] = token }
            if let server { process.environment["AGENTBOX_SERVER"] = server }
            self.process = process
        }

        var configFile: String { home + "/config/agentbox/client.json" }

        func run(_ arguments: String...) async throws -> AgentboxProcess.Outcome { try await process.run(arguments) }

        /// Runs with `input` on standard input.
        func run(_ arguments: [String], input: String) async throws -> AgentboxProcess.Outcome {
            let log = home + "/stdin-run-\(UUID().uuidString).log"
            try writeFile(atPath: log, contents: nil)
            let output = try #require(FileHandle(forWritingAtPath: log))
            let stdin = Pipe()
            let child = Process()
            child.executableURL = URL(fileURLWithPath: AgentboxProcess.executable)
            child.arguments = arguments
            child.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AGENTBOX_") }.merging(process.environment) { $1 }
            child.standardInput = stdin
            child.standardOutput = output
            child.standardError = output
            try child.run()
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
            await process.waitForExit(child)
            return .init(status: child.terminationStatus, output: try String(contentsOfFile: log, encoding: .utf8))
        }
    }

    private func json(_ outcome: AgentboxProcess.Outcome) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any], "not JSON: \(outcome.output)")
    }

    private func url(_ api: TestAPI) -> String { "http://127.0.0.1:\(api.server.port)" }

    @Test func loginChecksTheTokenAndSavesItForTheOwnerOnly() async throws {
        let api = try await TestAPI.start()
        let cli = try CLI(api)

        let bad = try await cli.run(["login", "--server", url(api), "--token", "-"], input: "abx_u_wrong\n")
        #expect(bad.status == 1)
        #expect(bad.output.contains("(unauthenticated)"), "\(bad.output)")
        #expect(!FileManager.default.fileExists(atPath: cli.configFile), "a refused token is not saved")

        let login = try await cli.run(["login", "--server", url(api) + "/", "--token", "-"], input: api.adminToken + "\n")
        #expect(login.status == 0, "\(login.output)")
        #expect(login.output.contains("logged in to \(url(api)) as root (user, admin)"), "\(login.output)")
        #expect(!login.output.contains(api.adminToken), "login never prints the token")

        let attributes = try FileManager.default.attributesOfItem(atPath: cli.configFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let folder = try FileManager.default.attributesOfItem(atPath: (cli.configFile as NSString).deletingLastPathComponent)
        #expect((folder[.posixPermissions] as? Int) == 0o700)
        let saved = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cli.configFile))) as? [String: String])
        #expect(saved == ["server": url(api), "token": api.adminToken])

        let me = try await cli.run("me")
        #expect(me.status == 0, "\(me.output)")
        #expect(me.output.contains("name: root") && me.output.contains("role: admin"), "\(me.output)")

        let elsewhere = try await cli.run("me", "--server", "http://127.0.0.1:9")
        #expect(elsewhere.status == 1)
        #expect(
            elsewhere.output.contains("no API token for http://127.0.0.1:9"), "a saved token is never sent to another server: \(elsewhere.output)")

        let logout = try await cli.run("logout")
        #expect(logout.status == 0)
        #expect(!FileManager.default.fileExists(atPath: cli.configFile))
        let after = try await cli.run("me")
        #expect(after.status == 1)
        #expect(after.output.contains("Error: no API token"), "\(after.output)")
        try await api.stop()
    }

    @Test func agentRoundTripInTablesAndJSON() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let cli = try CLI(api, token: ada.token, server: url(api))

        let created = try await cli.run("agent", "create", "researcher", "--description", "reads papers")
        #expect(created.status == 0, "\(created.output)")
        #expect(created.output.contains("name:") && created.output.contains("researcher"), "\(created.output)")
        let second = try json(try await cli.run("agent", "create", "writer", "--json"))
        let writerID = try #require(second["id"] as? String)
        #expect(second["name"] as? String == "writer")

        let table = try await cli.run("agent", "list")
        #expect(table.status == 0)
        let lines = table.output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("ID") == true && lines.first?.contains("NAME") == true, "\(table.output)")
        #expect(lines.count == 3 && table.output.contains("researcher") && table.output.contains("writer"), "\(table.output)")

        let page = try json(try await cli.run("agent", "list", "--json", "--limit", "1"))
        #expect(page["total"] as? Int == 2)
        #expect((page["items"] as? [Any])?.count == 1)
        let more = try await cli.run("agent", "list", "--limit", "1")
        #expect(more.output.contains("showing 1-1 of 2"), "\(more.output)")

        let shown = try await cli.run("agent", "get", writerID)
        #expect(shown.output.contains("id:") && shown.output.contains(writerID), "\(shown.output)")
        #expect(try json(try await cli.run("agent", "get", writerID, "--json"))["id"] as? String == writerID)

        let renamed = try await cli.run("agent", "update", writerID, "--name", "editor")
        #expect(renamed.status == 0 && renamed.output.contains("editor"), "\(renamed.output)")

        let issued = try await cli.run("agent", "token", writerID, "--name", "ci")
        #expect(issued.status == 0)
        let token = try #require(issued.output.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        #expect(token.hasPrefix("abx_a_"), "\(issued.output)")
        let tokens = try await cli.run("token", "list")
        #expect(tokens.status == 0 && tokens.output.contains("ci"))
        #expect(!tokens.output.contains(token), "a token is shown only when issued")

        let deleted = try await cli.run("agent", "delete", writerID)
        #expect(deleted.status == 0 && deleted.output.contains("deleted agent \(writerID)"))
        let gone = try await cli.run("agent", "get", writerID)
        #expect(gone.status == 1)
        #expect(gone.output.hasPrefix("Error: ") && gone.output.contains("(not_found)"), "\(gone.output)")
        let remaining = try json(try await cli.run("agent", "list", "--json"))
        #expect(remaining["total"] as? Int == 1)
        try await api.stop()
    }

    @Test func anAPIErrorIsOneCleanLineWithExitCode1() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let cli = try CLI(api, token: ada.token, server: url(api))

        let malformed = try await cli.run("agent", "get", "not-a-uuid")
        #expect(malformed.status == 1)
        #expect(malformed.output == "Error: id in the path must be a UUID (invalid_request)\n", "\(malformed.output)")

        let forbidden = try await cli.run("user", "list")
        #expect(forbidden.status == 1)
        #expect(forbidden.output.hasPrefix("Error: ") && forbidden.output.hasSuffix("(forbidden)\n"), "\(forbidden.output)")

        let wrongToken = "abx_u_" + String(repeating: "x", count: 49)
        let unauthenticated = try await cli.run("me", "--token", wrongToken)
        #expect(unauthenticated.status == 1)
        #expect(
            unauthenticated.output.contains("(unauthenticated)") && unauthenticated.output.contains("agentbox login"), "\(unauthenticated.output)")
        #expect(!unauthenticated.output.contains(wrongToken), "the token is never echoed")
        try await api.stop()
    }

    @Test func aRefusedConnectionSaysWhichServerAndWhatToCheck() async throws {
        let api = try await TestAPI.start()
        let port = api.server.port
        try await api.stop()  // nothing listens on the port now
        let cli = try CLI(api, token: "abx_u_" + String(repeating: "s", count: 49))

        let outcome = try await cli.run("agent", "list", "--server", "http://127.0.0.1:\(port)")
        #expect(outcome.status == 1)
        #expect(outcome.output.hasPrefix("Error: cannot connect to the agentbox server at http://127.0.0.1:\(port)"), "\(outcome.output)")
        #expect(outcome.output.contains("agentbox serve") && outcome.output.contains("--server"), "\(outcome.output)")
        #expect(!outcome.output.contains("sssssss"), "the token is never echoed")
    }

    @Test func toolboxInstanceToolbeltAndCredentialCommandsWorkEndToEnd() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let admin = try CLI(api, token: api.adminToken, server: url(api))
        let cli = try CLI(api, token: ada.token, server: url(api))

        let toolFile = admin.home + "/tool.json"
        let tool: [String: Any] = [
            "name": "gmail", "docker_image_url": "ghcr.io/acme/gmail:1.0.0", "version": "1.0.0", "container_port": 8080,
            "required_capabilities_schema": ["gmail_send": "Send Email", "gmail_read": "Read Email"],
            "required_secrets_schema": ["type": "object", "required": ["api_key"], "properties": ["api_key": ["type": "string"]]],
        ]
        try writeFile(atPath: toolFile, contents: try JSONSerialization.data(withJSONObject: tool))
        let added = try json(try await admin.run("catalog", "add", "--file", toolFile, "--json"))
        let toolID = try #require(added["id"] as? String)
        #expect(try await admin.run("catalog", "update", toolID, "--disable").status == 0)
        #expect(try await cli.run("catalog", "list").output.contains("no catalog tools"), "a disabled tool is hidden from users")
        #expect(try await admin.run("catalog", "update", toolID, "--enable").status == 0)
        #expect(try await cli.run("catalog", "get", toolID).output.contains("ghcr.io/acme/gmail:1.0.0"))

        let toolboxID = try #require(try json(try await cli.run("toolbox", "create", "home", "--json"))["id"] as? String)
        #expect(try await cli.run("toolbox", "rename", toolboxID, "house").output.contains("house"))
        let instanceID = try #require(
            try json(try await cli.run("instance", "deploy", "--toolbox", toolboxID, "--tool", toolID, "--name", "mail", "--json"))["id"] as? String)
        #expect(try await cli.run("instance", "list", "--toolbox", toolboxID).output.contains("mail"))

        let agentID = try #require(try json(try await cli.run("agent", "create", "helper", "--json"))["id"] as? String)
        let grant = try await cli.run("access", "grant", agentID, toolboxID)
        #expect(grant.status == 0, "\(grant.output)")
        #expect(try await cli.run("access", "list", agentID).output.contains(toolboxID))
        let item = try json(try await cli.run("toolbelt", "add", agentID, instanceID, "--json"))
        let itemID = try #require(item["id"] as? String)
        #expect(try await cli.run("toolbelt", "disable", itemID).output.contains("disabled"))
        #expect(try json(try await cli.run("toolbelt", "get", itemID, "--json"))["is_active"] as? Bool == false)
        let denied = try await cli.run("permission", "set", itemID, "gmail_send", "--deny")
        #expect(denied.status == 0, "\(denied.output)")
        #expect(try await cli.run("permission", "list", itemID).output.contains("gmail_send"))

        let secret = "sk-live-very-secret-value"
        let credential = try await cli.run(["credential", "add", itemID, "--type", "api_key", "--account", "ada@example.com", "--file", "-"],
            input: #"{"api_key": "\#(secret)"}"#)
        #expect(credential.status == 0, "\(credential.output)")
        #expect(!credential.output.contains(secret), "a secret is never shown back")
        let credentials = try await cli.run("credential", "list", itemID)
        #expect(credentials.output.contains("api_key") && !credentials.output.contains(secret) && !credentials.output.contains("ada@example.com"),
            "only the masked account is shown: \(credentials.output)")

        #expect(try await cli.run("permission", "delete", itemID, "gmail_send").status == 0)
        #expect(try await cli.run("toolbelt", "remove", itemID).status == 0)
        #expect(try await cli.run("access", "revoke", agentID, toolboxID).status == 0)
        #expect(try await cli.run("instance", "delete", instanceID).status == 0)
        let deprovisioned = try await cli.run("toolbox", "delete", toolboxID)
        #expect(deprovisioned.status == 0 && deprovisioned.output.contains("toolbox \(toolboxID) is now"), "\(deprovisioned.output)")
        try await api.stop()
    }

    @Test func vaultRotateGoesThroughTheServerThatHoldsTheDataDirectory() async throws {
        let api = try await TestAPI.start()
        let cli = try CLI(api, token: api.adminToken, server: url(api))
        let rotated = try await cli.run("vault", "rotate", "--data-dir", api.folder.appending("data"))
        #expect(rotated.status == 0, "\(rotated.output)")
        #expect(rotated.output.contains("holds") && rotated.output.contains("rotated to data key 2"), "\(rotated.output)")
        let log = try await api.stop()
        #expect(!log.contains(api.adminToken))
    }
}

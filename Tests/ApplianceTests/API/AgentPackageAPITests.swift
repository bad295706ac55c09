import Foundation
import TestSupport
import Testing

/// The appliance serves its own agent build: the `.deb` droplets install (the enrollment token buys it without being
/// used up, the toolbox token too), the bare binary a DTMA updates itself to (toolbox token only), each with its
/// version and SHA-256, each download audited; and `serve --agent-binary` serves another build's version.
struct AgentPackageAPITests {
    static let package = "/api/v1/agent/package"
    static let binary = "/api/v1/dtma/agent-binary"

    /// Runs `path arguments`; its exit status and its standard output and error together.
    static func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AGENTBOX_") }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The SHA-256 (lowercase hex) of `data`, by `sha256sum`.
    static func sha256(_ data: Data, _ folder: TemporaryDirectory) throws -> String {
        let file = folder.appending("hash-\(UUID().uuidString)")
        try data.write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let sum = try run("/usr/bin/sha256sum", [file])
        return String(sum.output.prefix { $0 != " " })
    }

    /// What the package's `usr/bin/agentbox` says to `version`, after `dpkg-deb -x`; also its bytes.
    static func installedVersion(_ deb: Data, _ folder: TemporaryDirectory) throws -> (version: String, binary: Data) {
        let name = UUID().uuidString
        let file = folder.appending("\(name).deb")
        try deb.write(to: URL(fileURLWithPath: file))
        let tree = folder.appending(name)
        let extracted = try run("/usr/bin/dpkg-deb", ["-x", file, tree])
        #expect(extracted.status == 0, "\(extracted.output)")
        try? FileManager.default.removeItem(atPath: file)
        let agentbox = tree + "/usr/bin/agentbox"
        let version = try run(agentbox, ["version"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: agentbox))
        try? FileManager.default.removeItem(atPath: tree)
        return (version, bytes)
    }

    /// A DigitalOcean toolbox of Ada's with its droplet, and the enrollment token from the droplet's user-data.
    static func enrollingToolbox(_ sim: StandInProcess, _ api: TestAPI, ada: String) async throws -> (id: String, enrollment: String) {
        let created = try await api.request(
            "POST", "/api/v1/toolboxes", token: ada, body: ["name": "fetcher", "provider": "digitalocean", "region": "nyc3", "size": "s-1vcpu-1gb"])
        let id = try #require(created.string("id"), "\(ToolAPIFixtures.text(created))")
        _ = try await DigitalOceanToolboxTests.until(api, id, token: ada) { $0["droplet_id"] is Int }
        let userData = try #require(try await DigitalOceanToolboxTests.tagged(sim, id).first?["user_data"] as? String)
        let range = try #require(userData.range(of: #"abx_e_[A-Za-z0-9_-]{49}"#, options: .regularExpression))
        return (id, String(userData[range]))
    }

    @Test func theEnrollmentTokenBuysThePackageWithoutBeingUsedUpAndTheToolboxTokenBuysBoth() async throws {
        let folder = try TemporaryDirectory()
        let (sim, api, ada) = try await DigitalOceanToolboxTests.world(folder, enrollment: 300)
        defer { Task { await sim.stop() } }
        let serverVersion = try Self.run(AgentboxProcess.executable, ["version"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(serverVersion.hasPrefix("agentbox "))
        let (id, enrollment) = try await Self.enrollingToolbox(sim, api, ada: ada.token)

        // No token, a user's token: refused.
        #expect(try await api.request("GET", Self.package, token: nil).status == 401)
        let byUser = try await api.request("GET", Self.package, token: ada.token)
        #expect(byUser.status == 401 && byUser.errorCode == "enrollment_token_invalid", "\(ToolAPIFixtures.text(byUser))")
        #expect(try await api.request("GET", Self.package, token: "abx_e_" + String(repeating: "A", count: 49)).status == 401)
        #expect(try await api.request("GET", Self.binary, token: nil).status == 401)
        let binaryByUser = try await api.request("GET", Self.binary, token: ada.token)
        #expect(binaryByUser.status == 403 && binaryByUser.errorCode == "toolbox_token_required", "\(ToolAPIFixtures.text(binaryByUser))")
        #expect(try await api.request("GET", Self.binary, token: enrollment).status == 401, "the enrollment token buys the package only")

        // The enrollment token: the package, whose binary is the server's build; its SHA-256 is the header's.
        let first = try await api.request("GET", Self.package, token: enrollment)
        #expect(first.status == 200, "\(first.status) \(first.body.count < 2000 ? ToolAPIFixtures.text(first) : "")")
        let version = String(serverVersion.dropFirst("agentbox ".count))
        #expect(first.headers["content-type"] == "application/vnd.debian.binary-package")
        #expect(first.headers["agentbox-version"] == version)
        let disposition = first.headers["content-disposition"] ?? ""
        #expect(disposition.hasPrefix("attachment; filename=\"agentbox_\(version)_") && disposition.hasSuffix(".deb\""), "\(disposition)")
        let packageSHA = try #require(first.headers["agentbox-sha256"])
        #expect(packageSHA == (try Self.sha256(first.body, folder)))
        let installed = try Self.installedVersion(first.body, folder)
        #expect(installed.version == serverVersion)

        // Downloading does not use the token up.
        let second = try await api.request("GET", Self.package, token: enrollment)
        #expect(second.status == 200 && second.headers["agentbox-sha256"] == packageSHA && second.body == first.body)

        // Enrolled: the enrollment token is used; the toolbox token buys the package and the binary.
        let joined = try await api.request("POST", "/api/v1/dtma/enroll", token: enrollment)
        #expect(joined.status == 200, "\(ToolAPIFixtures.text(joined))")
        let toolboxToken = try #require(joined.string("token"))
        let used = try await api.request("GET", Self.package, token: enrollment)
        #expect(used.status == 401 && used.errorCode == "enrollment_token_used", "\(ToolAPIFixtures.text(used))")
        let byToolbox = try await api.request("GET", Self.package, token: toolboxToken)
        #expect(byToolbox.status == 200 && byToolbox.headers["agentbox-sha256"] == packageSHA && byToolbox.body == first.body)
        let bare = try await api.request("GET", Self.binary, token: toolboxToken)
        #expect(bare.status == 200 && bare.headers["content-type"] == "application/octet-stream")
        #expect(bare.headers["agentbox-version"] == version)
        #expect(bare.headers["agentbox-sha256"] == (try Self.sha256(bare.body, folder)))
        #expect(bare.body == installed.binary, "the package installs exactly the binary served")

        // Every download and refusal is in the audit log.
        let audit = try await api.request("GET", "/api/v1/audit?limit=200", token: api.adminToken).items.filter { $0["action"] as? String == "agent.package" }
        let ok = audit.filter { $0["outcome"] as? String == "ok" }
        #expect(ok.count == 4, "\(audit)")
        #expect(ok.allSatisfy { $0["target_id"] as? String == id }, "\(ok)")
        #expect(audit.filter { $0["outcome"] as? String == "denied" }.count >= 3, "\(audit)")
        _ = try await api.stop()
    }

    @Test func servingAnotherBuildServesItsVersion() async throws {
        let folder = try TemporaryDirectory()
        // Version N+1 without building twice: a copy with its stamp rewritten, which says so.
        let next = folder.appending("agentbox-next")
        try VersionStamp.patchedCopy(of: AgentboxProcess.executable, to: next, version: "0.1.0-next")
        #expect(try Self.run(next, ["version"]).output == "agentbox 0.1.0-next\n")
        #expect(throws: VersionStamp.Failure.self) {
            try VersionStamp.patchedCopy(of: AgentboxProcess.executable, to: folder.appending("long"), version: String(repeating: "9", count: 40))
        }

        // serve refuses a missing or non-executable --agent-binary.
        let agentbox = AgentboxProcess(folder: folder)
        let missing = try await agentbox.run(["serve", "--data-dir", folder.appending("unused"), "--agent-binary", folder.appending("nothing-here")])
        #expect(missing.status != 0 && missing.output.contains("no such file"), "\(missing.output)")
        let plain = folder.appending("plain")
        try writeFile(atPath: plain, contents: Data("not a program".utf8))
        let notExecutable = try await agentbox.run(["serve", "--data-dir", folder.appending("unused"), "--agent-binary", plain])
        #expect(notExecutable.status != 0 && notExecutable.output.contains("not an executable file"), "\(notExecutable.output)")

        let sim = try await StandInProcess.start(["--active-after", "0.5", "--ip-after", "0.5"], folder: folder)
        defer { Task { await sim.stop() } }
        let api = try await TestAPI.start(serveArguments: DigitalOceanToolboxTests.serve(sim, enrollment: 300) + ["--agent-binary", next])
        #expect(try await api.request("PUT", "/api/v1/admin/digitalocean/token", token: api.adminToken, body: ["token": sim.token]).status == 200)
        let ada = try await api.createUser("ada")
        let (_, enrollment) = try await Self.enrollingToolbox(sim, api, ada: ada.token)
        let reply = try await api.request("GET", Self.package, token: enrollment)
        #expect(reply.status == 200, "\(reply.status)")
        #expect(reply.headers["agentbox-version"] == "0.1.0-next")
        #expect((reply.headers["content-disposition"] ?? "").contains("agentbox_0.1.0-next_"))
        #expect(reply.headers["agentbox-sha256"] == (try Self.sha256(reply.body, folder)))
        #expect(try Self.installedVersion(reply.body, folder).version == "agentbox 0.1.0-next")

        // The operator puts a newer build at the same path: the next download is of it, hashed again, without a restart.
        let later = folder.appending("agentbox-later")
        try VersionStamp.patchedCopy(of: AgentboxProcess.executable, to: later, version: "0.1.0-later")
        #expect(rename(later, next) == 0)
        let again = try await api.request("GET", Self.package, token: enrollment)
        #expect(again.status == 200 && again.headers["agentbox-version"] == "0.1.0-later", "\(again.headers)")
        #expect(again.headers["agentbox-sha256"] == (try Self.sha256(again.body, folder)))
        #expect(try Self.installedVersion(again.body, folder).version == "agentbox 0.1.0-later")
        _ = try await api.stop()
    }
}

import Foundation
import Testing

extension StandInTests {
    /// Droplets that "boot" agentbox's DTMA on this machine (`--boot-dtma`): the droplet's folder and files, the
    /// package download, the process's environment, restarts, power actions, deletion, reset and the stand-in's exit.
    ///
    /// The boot binary is a shell script that records its argv and environment in its STATE_DIRECTORY and sleeps
    /// (the real DTMA has its own end-to-end test); the appliance's package route is a small loopback server that
    /// answers only the droplet's enrollment token.
    @Suite struct DropletBootTests {
        @Test func anAgentboxDropletRunsItsDTMAWithTheCloudConfigsSettings() async throws {
            let fixture = try await BootFixture.make()
            let sim = try await StandInProcess.start(
                fixture.arguments, environment: ["AGENTBOX_INHERITED_SECRET": "not-for-droplets", "DO_SIM_TEST_MARKER": "inherited"])
            let toolbox = UUID().uuidString.lowercased()
            let (id, _) = try await sim.create("toolbox-1", extra: fixture.userDataMember(toolbox: toolbox))
            let dtma = try await fixture.running(sim, id)
            let folder = fixture.root.path + "/droplet-\(id)"
            #expect(dtma["folder"] as? String == folder)
            #expect(dtma["package_bytes"] as? Int == fixture.package.count)
            #expect(dtma["boot_error"] is NSNull)
            #expect(dtma["starts"] as? Int == 1)
            let pid = try #require(dtma["pid"] as? Int)

            // The files the cloud-config writes, with its modes, and the package (kept, not installed).
            #expect(try mode(folder) == 0o700)
            #expect(try mode(folder + "/enrollment-token") == 0o600)
            #expect(try mode(folder + "/state") == 0o700)
            #expect(try String(contentsOfFile: folder + "/enrollment-token", encoding: .utf8) == fixture.token)
            let agentConf = """
                AGENTBOX_APPLIANCE_URL=http://127.0.0.1:\(fixture.serverPort)
                AGENTBOX_APPLIANCE_PIN=
                AGENTBOX_TOOLBOX_ID=\(toolbox)
                AGENTBOX_ENROLLMENT_TOKEN_FILE=/etc/agentbox/enrollment-token

                """
            #expect(try String(contentsOfFile: folder + "/agent.conf", encoding: .utf8) == agentConf)
            #expect(FileManager.default.contents(atPath: folder + "/agentbox.deb") == fixture.package)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".header") || $0.hasSuffix(".part") }
            #expect(leftovers.isEmpty, "the header file with the token and the partial download are gone")

            // The environment the unit would give it: agent.conf's, the token file here, the state directory; no AGENTBOX_* of the stand-in.
            try await sim.eventually { fixture.starts(folder) == 1 }
            let environment = try fixture.environment(folder)
            #expect(environment["AGENTBOX_APPLIANCE_URL"] == "http://127.0.0.1:\(fixture.serverPort)")
            #expect(environment["AGENTBOX_APPLIANCE_PIN"] == "")
            #expect(environment["AGENTBOX_TOOLBOX_ID"] == toolbox)
            #expect(environment["AGENTBOX_ENROLLMENT_TOKEN_FILE"] == folder + "/enrollment-token")
            #expect(environment["STATE_DIRECTORY"] == folder + "/state")
            #expect(environment["AGENTBOX_INHERITED_SECRET"] == nil)
            #expect(environment.keys.filter { $0.hasPrefix("AGENTBOX_DO_SIM") }.isEmpty)
            #expect(environment["DO_SIM_TEST_MARKER"] == "inherited")
            #expect(try String(contentsOfFile: folder + "/state/argv", encoding: .utf8) == fixture.script.path + "\ndtma\n")

            // No token on a command line: neither the DTMA's nor what it started.
            for process in [pid] + children(of: pid) {
                let commandLine = try #require(FileManager.default.contents(atPath: "/proc/\(process)/cmdline"))
                #expect(!String(decoding: commandLine, as: UTF8.self).contains(fixture.token), "pid \(process)")
            }

            // Restart=always: killed, it comes back after the restart delay.
            #expect(kill(pid_t(pid), SIGKILL) == 0)
            var restarted: [String: Any] = [:]
            try await sim.eventually {
                restarted = try await fixture.dtma(sim, id) ?? [:]
                return restarted["starts"] as? Int == 2 && restarted["running"] as? Bool == true
            }
            #expect(restarted["pid"] as? Int != pid)
            try await sim.eventually { gone(pid) }
            try await sim.eventually { fixture.starts(folder) == 2 }

            let log = try String(contentsOf: sim.logFile, encoding: .utf8)
            #expect(log.contains("droplet \(id)"))
            #expect(!log.contains(fixture.token), "the enrollment token is never logged")
            withExtendedLifetime(fixture) {}
        }

        @Test func powerActionsStopAndStartTheDTMA() async throws {
            let fixture = try await BootFixture.make()
            let sim = try await StandInProcess.start(fixture.arguments)
            let (id, _) = try await sim.create("toolbox-2", extra: fixture.userDataMember(toolbox: UUID().uuidString.lowercased()))
            let first = try #require(try await fixture.running(sim, id)["pid"] as? Int)

            try await sim.expect(201, "POST", "/v2/droplets/\(id)/actions", json: #"{"type": "power_off"}"#)
            try await sim.eventually { try await sim.droplet(id)["status"] as? String == "off" }
            try await sim.eventually { gone(first) }
            let off = try #require(try await fixture.dtma(sim, id))
            #expect(off["running"] as? Bool == false && off["pid"] is NSNull && off["starts"] as? Int == 1)
            try await Task.sleep(for: .seconds(1))
            #expect(try await fixture.dtma(sim, id)?["running"] as? Bool == false, "no restart while the droplet is off")

            try await sim.expect(201, "POST", "/v2/droplets/\(id)/actions", json: #"{"type": "power_on"}"#)
            let second = try #require(try await fixture.running(sim, id)["pid"] as? Int)
            #expect(second != first)
            #expect(try await fixture.dtma(sim, id)?["starts"] as? Int == 2)

            try await sim.expect(201, "POST", "/v2/droplets/\(id)/actions", json: #"{"type": "reboot"}"#)
            try await sim.eventually { try await fixture.dtma(sim, id)?["starts"] as? Int == 3 }
            try await sim.eventually { gone(second) }
            #expect(try await fixture.dtma(sim, id)?["running"] as? Bool == true)
            withExtendedLifetime(fixture) {}
        }

        @Test func deletingADropletStopsItsDTMAForGood() async throws {
            let fixture = try await BootFixture.make()
            let sim = try await StandInProcess.start(fixture.arguments)
            let (byID, _) = try await sim.create("toolbox-3", extra: fixture.userDataMember(toolbox: UUID().uuidString.lowercased()))
            let (byTag, _) = try await sim.create(
                "toolbox-4", tags: ["agentbox-toolbox-4"], extra: fixture.userDataMember(toolbox: UUID().uuidString.lowercased()))
            let first = try #require(try await fixture.running(sim, byID)["pid"] as? Int)
            let second = try #require(try await fixture.running(sim, byTag)["pid"] as? Int)

            #expect(try await sim.request("DELETE", "/v2/droplets/\(byID)").status == 204)
            #expect(try await sim.request("DELETE", "/v2/droplets?tag_name=agentbox-toolbox-4").status == 204)
            try await sim.eventually { gone(first) && gone(second) }
            // Well past the restart delay: nothing came back.
            try await Task.sleep(for: .seconds(1))
            for id in [byID, byTag] { #expect(fixture.starts(fixture.root.path + "/droplet-\(id)") == 1) }
            #expect(try await sim.state().droplets.isEmpty)
            withExtendedLifetime(fixture) {}
        }

        @Test func deletingADropletRemovesItsToolboxsContainersFromDocker() async throws {
            let fixture = try await BootFixture.make()
            let (doomed, kept) = (UUID().uuidString.lowercased(), UUID().uuidString.lowercased())
            let engine = try await FakeDockerEngine.start(in: fixture.folder, containers: [("c0ffee01", doomed), ("c0ffee02", doomed), ("beef0003", kept)])
            let sim = try await StandInProcess.start(fixture.arguments + ["--docker-socket", engine.socket])
            let (first, _) = try await sim.create("toolbox-10", extra: fixture.userDataMember(toolbox: doomed))
            let (second, _) = try await sim.create("toolbox-11", extra: fixture.userDataMember(toolbox: kept))
            _ = try await fixture.running(sim, first)
            _ = try await fixture.running(sim, second)

            #expect(try await sim.request("DELETE", "/v2/droplets/\(first)").status == 204)
            try await sim.eventually { engine.requests().filter { $0.hasPrefix("DELETE") }.count == 2 }
            let requests = engine.requests()
            let list = try #require(requests.first { $0.hasPrefix("GET") })
            #expect(list.hasPrefix("GET /containers/json?all=1&filters="))
            let filters = try #require(URLComponents(string: String(list.dropFirst(4)))?.queryItems?.first { $0.name == "filters" }?.value)
            #expect(filters == #"{"label":["agentbox.toolbox=\#(doomed)"]}"#)
            #expect(Set(requests.filter { $0.hasPrefix("DELETE") }) == ["DELETE /containers/c0ffee01?force=1", "DELETE /containers/c0ffee02?force=1"])

            // A reset stops the other droplet's DTMA but leaves its containers.
            try await sim.expect(200, "POST", "/_sim/reset")
            try await sim.eventually { try await sim.state().droplets.isEmpty }
            try await Task.sleep(for: .milliseconds(600))
            #expect(engine.requests().count == 3)
            withExtendedLifetime((fixture, engine)) {}
        }

        @Test func aResetStopsEveryDTMAAndRemovesNothingElse() async throws {
            let fixture = try await BootFixture.make()
            let sim = try await StandInProcess.start(fixture.arguments)
            var pids: [Int] = []
            var ids: [Int] = []
            for name in ["toolbox-5", "toolbox-6"] {
                let (id, _) = try await sim.create(name, extra: fixture.userDataMember(toolbox: UUID().uuidString.lowercased()))
                ids.append(id)
            }
            for id in ids { pids.append(try #require(try await fixture.running(sim, id)["pid"] as? Int)) }

            try await sim.expect(200, "POST", "/_sim/reset")
            try await sim.eventually { pids.allSatisfy(gone) }
            try await Task.sleep(for: .seconds(1))
            for id in ids {
                let folder = fixture.root.path + "/droplet-\(id)"
                #expect(fixture.starts(folder) == 1, "no restart after the reset")
                #expect(FileManager.default.fileExists(atPath: folder + "/agentbox.deb"), "the droplet's files stay")
            }
            #expect(try await sim.state().droplets.isEmpty)
            withExtendedLifetime(fixture) {}
        }

        @Test func aDropletWithoutAgentboxsCloudConfigBootsNothing() async throws {
            let fixture = try await BootFixture.make()
            let sim = try await StandInProcess.start(fixture.arguments)
            let script = try String(data: JSONEncoder().encode("#!/bin/sh\necho hello\n"), encoding: .utf8) ?? ""
            let otherConfig = try String(data: JSONEncoder().encode("#cloud-config\nruncmd:\n  - echo hello\n"), encoding: .utf8) ?? ""
            let (plain, _) = try await sim.create("plain", extra: #", "user_data": \#(script)"#)
            let (other, _) = try await sim.create("other", extra: #", "user_data": \#(otherConfig)"#)
            let (none, _) = try await sim.create("none")
            try await sim.eventually {
                let droplets = try await sim.state().droplets
                return droplets.count == 3 && droplets.allSatisfy { $0["status"] as? String == "active" }
            }
            try await Task.sleep(for: .milliseconds(600))
            let droplets = try await sim.state().droplets
            #expect(droplets.compactMap { $0["id"] as? Int } == [plain, other, none])
            #expect(droplets.allSatisfy { $0["dtma"] == nil })
            #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.root.path).isEmpty)
            withExtendedLifetime(fixture) {}
        }

        @Test func aPackageThatCannotBeFetchedIsABootErrorRetriedUntilItWorks() async throws {
            let fixture = try await BootFixture.make(package: false)
            let sim = try await StandInProcess.start(fixture.arguments)
            let (id, _) = try await sim.create("toolbox-7", extra: fixture.userDataMember(toolbox: UUID().uuidString.lowercased()))
            var error = ""
            try await sim.eventually {
                error = try await fixture.dtma(sim, id)?["boot_error"] as? String ?? ""
                return !error.isEmpty
            }
            #expect(error.contains("/api/v1/agent/package") && error.contains("404"), "\(error)")
            let waiting = try #require(try await fixture.dtma(sim, id))
            #expect(waiting["running"] as? Bool == false && waiting["pid"] is NSNull && waiting["package_bytes"] is NSNull)

            // Not a Debian package: refused.
            try Data("hello".utf8).write(to: fixture.packageFile)
            try await sim.eventually {
                (try await fixture.dtma(sim, id)?["boot_error"] as? String)?.contains("not a Debian package") == true
            }
            #expect(!FileManager.default.fileExists(atPath: fixture.root.path + "/droplet-\(id)/agentbox.deb"))

            // The real thing: fetched on the next try, and the DTMA starts.
            try fixture.package.write(to: fixture.packageFile)
            let running = try await fixture.running(sim, id)
            #expect(running["boot_error"] is NSNull && running["package_bytes"] as? Int == fixture.package.count)

            // A droplet with another token is refused by the appliance.
            let wrong = fixture.userDataMember(toolbox: UUID().uuidString.lowercased(), token: "not-the-enrollment-token")
            let (refused, _) = try await sim.create("toolbox-8", extra: wrong)
            try await sim.eventually { (try await fixture.dtma(sim, refused)?["boot_error"] as? String)?.contains("401") == true }
            withExtendedLifetime(fixture) {}
        }

        @Test func theStandInsExitStopsEveryDTMAAndRemovesItsTemporaryRoot() async throws {
            let fixture = try await BootFixture.make()
            let sim = try await StandInProcess.start(["--boot-dtma", fixture.script.path, "--dtma-restart-delay", "0.3"])
            let (id, _) = try await sim.create("toolbox-9", extra: fixture.userDataMember(toolbox: UUID().uuidString.lowercased()))
            let dtma = try await fixture.running(sim, id)
            let pid = try #require(dtma["pid"] as? Int)
            let folder = try #require(dtma["folder"] as? String)
            let root = URL(fileURLWithPath: folder).deletingLastPathComponent().path
            #expect(root != fixture.root.path && FileManager.default.fileExists(atPath: folder + "/enrollment-token"))

            #expect(try await sim.stop() == 0)
            #expect(gone(pid))
            #expect(!FileManager.default.fileExists(atPath: root), "the temporary droplet root is removed")
            withExtendedLifetime(fixture) {}
        }
    }
}

/// A boot binary (a script), the appliance's package route (a loopback server) and a droplet root, in a temporary folder.
private struct BootFixture {
    let folder: URL
    let script: URL
    let root: URL
    /// What the server answers to `GET /api/v1/agent/package` with the right token; 404 while it is missing.
    let packageFile: URL
    /// A valid Debian package as far as the stand-in checks: an ar archive with a debian-binary member.
    let package: Data
    let token: String
    let serverPort: Int
    private let reaper: ServerReaper

    var arguments: [String] { ["--boot-dtma", script.path, "--droplet-root", root.path, "--dtma-restart-delay", "0.3"] }

    /// `package`: whether the server has the package from the start.
    static func make(package servePackage: Bool = true) async throws -> BootFixture {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("do-sim-boot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let script = folder.appendingPathComponent("agentbox")
        try """
            #!/bin/sh
            printf '%s\\n' "$0" "$@" > "$STATE_DIRECTORY/argv"
            env > "$STATE_DIRECTORY/env"
            echo "dtma started"
            sleep 1000 &
            wait

            """.write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)

        try Data("2.0\n".utf8).write(to: folder.appendingPathComponent("debian-binary"))
        try Data("not really a control archive".utf8).write(to: folder.appendingPathComponent("control.tar.gz"))
        try await run("/usr/bin/ar", ["rc", "built.deb", "debian-binary", "control.tar.gz"], in: folder)
        let package = try Data(contentsOf: folder.appendingPathComponent("built.deb"))
        let packageFile = folder.appendingPathComponent("package")
        if servePackage { try package.write(to: packageFile) }

        let token = "enroll_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try token.write(to: folder.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let server = folder.appendingPathComponent("server.py")
        try """
            import http.server, os, sys
            folder = sys.argv[1]
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    token = open(os.path.join(folder, 'token')).read().strip()
                    package = os.path.join(folder, 'package')
                    if self.path != '/api/v1/agent/package' or not os.path.exists(package):
                        self.send_error(404)
                    elif self.headers.get('Authorization') != 'Bearer ' + token:
                        self.send_error(401)
                    else:
                        data = open(package, 'rb').read()
                        self.send_response(200)
                        self.send_header('Content-Type', 'application/vnd.debian.binary-package')
                        self.send_header('Content-Length', str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                def log_message(self, *arguments):
                    pass
            server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
            print(server.server_address[1], flush=True)
            server.serve_forever()

            """.write(to: server, atomically: true, encoding: .utf8)
        let output = folder.appendingPathComponent("server.out")
        try #require(FileManager.default.createFile(atPath: output.path, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [server.path, folder.path]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        let reaper = ServerReaper(process, folder: folder)
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let text = try String(contentsOf: output, encoding: .utf8)
            if text.hasSuffix("\n"), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return BootFixture(
                    folder: folder, script: script, root: folder.appendingPathComponent("droplets"), packageFile: packageFile, package: package,
                    token: token, serverPort: port, reaper: reaper)
            }
            try #require(process.isRunning, "the package server exited")
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CancellationError()
    }

    /// `, "user_data": ...` for a create: agentbox's cloud-config (as Services' CloudConfig writes it) for `toolbox`.
    func userDataMember(toolbox: String, token: String? = nil) -> String {
        let userData = """
            #cloud-config
            # agentbox toolbox \(toolbox): Docker and the agentbox DTMA (agentbox dtma), which enrolls with the appliance.
            package_update: true
            packages:
              - docker.io
              - curl
              - ca-certificates
            write_files:
              - path: /etc/agentbox/enrollment-token
                owner: root:root
                permissions: '0600'
                content: '\(token ?? self.token)'
              - path: /etc/agentbox/agent.conf
                owner: root:root
                permissions: '0644'
                content: |
                  AGENTBOX_APPLIANCE_URL=http://127.0.0.1:\(serverPort)
                  AGENTBOX_APPLIANCE_PIN=
                  AGENTBOX_TOOLBOX_ID=\(toolbox)
                  AGENTBOX_ENROLLMENT_TOKEN_FILE=/etc/agentbox/enrollment-token
              - path: /etc/systemd/system/agentbox-dtma.service
                owner: root:root
                permissions: '0644'
                content: |
                  [Unit]
                  Description=agentbox dtma (the DTMA of toolbox \(toolbox))

                  [Service]
                  EnvironmentFile=/etc/agentbox/agent.conf
                  ExecStart=/usr/bin/agentbox dtma
                  StateDirectory=agentbox-dtma
                  Restart=always
            runcmd:
              - - sh
                - -c
                - >-
                  set -eu; umask 077; . /etc/agentbox/agent.conf;
                  systemctl enable --now agentbox-dtma.service

            """
        let encoded = (try? JSONEncoder().encode(userData)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
        return #", "user_data": \#(encoded)"#
    }

    /// The droplet's `dtma` in `GET /_sim/state`; nil when it has none.
    func dtma(_ sim: StandInProcess, _ id: Int) async throws -> [String: Any]? {
        try await sim.state().droplets.first { $0["id"] as? Int == id }?["dtma"] as? [String: Any]
    }

    /// Waits (up to 10 s) for the droplet's DTMA to run and returns its `dtma`.
    func running(_ sim: StandInProcess, _ id: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        var dtma: [String: Any] = [:]
        try await sim.eventually(within: .seconds(10), sourceLocation: sourceLocation) {
            dtma = try await self.dtma(sim, id) ?? [:]
            return dtma["running"] as? Bool == true
        }
        return dtma
    }

    /// How often the script started in the droplet folder (its "dtma started" lines in dtma.log).
    func starts(_ folder: String) -> Int {
        let log = (try? String(contentsOfFile: folder + "/dtma.log", encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter { $0 == "dtma started" }.count
    }

    /// The environment the script recorded.
    func environment(_ folder: String) throws -> [String: String] {
        let text = try String(contentsOfFile: folder + "/state/env", encoding: .utf8)
        var environment: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return environment
    }

    private static func run(_ executable: String, _ arguments: [String], in folder: URL) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = folder
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        try #require(process.terminationStatus == 0, "\(executable) \(arguments) failed")
    }
}

/// A Docker engine API on a Unix socket that knows some labelled containers and logs the requests it gets.
private struct FakeDockerEngine {
    let socket: String
    let log: URL
    private let reaper: ServerReaper

    /// `containers`: (id, value of the agentbox.toolbox label).
    static func start(in folder: URL, containers: [(String, String)]) async throws -> FakeDockerEngine {
        let socket = folder.appendingPathComponent("docker.sock").path
        let log = folder.appendingPathComponent("docker.log")
        let script = folder.appendingPathComponent("docker.py")
        let known = containers.map { #"{"Id": "\#($0.0)", "Labels": {"agentbox.toolbox": "\#($0.1)"}}"# }.joined(separator: ", ")
        try """
            import http.server, json, socketserver, sys, urllib.parse
            socket_path, log_path = sys.argv[1], sys.argv[2]
            containers = [\(known)]
            def record(line):
                with open(log_path, 'a') as log:
                    log.write(line + '\\n')
            class Handler(http.server.BaseHTTPRequestHandler):
                def answer(self, status, body):
                    data = json.dumps(body).encode() if body is not None else b''
                    self.send_response(status)
                    self.send_header('Content-Type', 'application/json')
                    self.send_header('Content-Length', str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                def do_GET(self):
                    record('GET ' + self.path)
                    url = urllib.parse.urlparse(self.path)
                    query = urllib.parse.parse_qs(url.query)
                    labels = json.loads(query.get('filters', ['{}'])[0]).get('label', [])
                    matching = [c for c in containers if all('='.join(kv) in labels for kv in c['Labels'].items())]
                    self.answer(200, matching if labels else containers)
                def do_DELETE(self):
                    record('DELETE ' + self.path)
                    self.answer(204, None)
                def log_message(self, *arguments):
                    pass
                def address_string(self):
                    return 'unix'
            class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
                daemon_threads = True
            server = Server(socket_path, Handler)
            record('ready')
            server.serve_forever()

            """.write(to: script, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script.path, socket, log.path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        let engine = FakeDockerEngine(socket: socket, log: log, reaper: ServerReaper(process, folder: nil))
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if engine.lines().first == "ready" { return engine }
            try #require(process.isRunning, "the fake Docker engine exited")
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CancellationError()
    }

    private func lines() -> [String] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The requests so far, e.g. `DELETE /containers/c0ffee01?force=1`.
    func requests() -> [String] { Array(lines().dropFirst()) }
}

/// Kills (SIGKILL: the test process may hand its children SIGTERM ignored) the package server and removes the fixture's folder.
private final class ServerReaper: @unchecked Sendable {
    // @unchecked Sendable: `Process` is only read (processIdentifier, isRunning), both safe from any thread.
    private let process: Process
    private let folder: URL?

    init(_ process: Process, folder: URL?) {
        self.process = process
        self.folder = folder
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }
}

/// The permission bits of a file.
private func mode(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1) & 0o777
}

/// Whether no process `pid` exists any more (the stand-in reaped it).
private func gone(_ pid: Int) -> Bool {
    !FileManager.default.fileExists(atPath: "/proc/\(pid)")
}

/// The children of a process.
private func children(of pid: Int) -> [Int] {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
    return text.split(separator: " ").compactMap { Int($0) }
}

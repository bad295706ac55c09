import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Makes droplets "boot" on this machine, so the whole remote-toolbox flow runs without a cloud: when a droplet
/// with agentbox's cloud-config turns `active`, it gets a folder of its own with the files the cloud-config
/// writes, fetches the agent package from the appliance as the runcmd does (without installing it), and runs
/// `<executable> dtma` there as the droplet's systemd unit would, restarting it when it exits.
///
/// Power actions stop and start the process; deleting the droplet stops it for good and removes the containers of
/// its toolbox from the local Docker engine, as destroying a VM destroys its containers; a reset and the stand-in's
/// own exit stop the processes only.
///
/// Driven by a tick (`run`) that reads the simulated cloud's droplets every 0.2 s, so a droplet boots when it turns
/// `active`, not when a request happens to arrive. Blocking work (file writes, curl, waitpid) runs on threads of its
/// own. The enrollment token goes to files and to curl through a header file, never to a log or a command line.
actor DropletBooter {
    /// One droplet that booted.
    private struct Machine {
        let id: Int
        let folder: String
        let userData: AgentboxUserData
        /// The droplet is `active`, so its DTMA is to run.
        var poweredOn = true
        var reboots: Int
        /// Its folder has the cloud-config's files.
        var prepared = false
        /// The agent package's size once fetched and checked.
        var packageBytes: Int?
        var downloading = false
        var nextDownload = Date.distantPast
        var bootError: String?
        var pid: pid_t?
        /// SIGTERM went to the running process.
        var stopping = false
        /// The earliest moment for the next start (the restart delay after an exit).
        var nextStart = Date.distantPast
        /// A reboot: start again as soon as the process has exited.
        var restartAtOnce = false
        var starts = 0

        var tokenFile: String { folder + "/enrollment-token" }
        var stateDirectory: String { folder + "/state" }
        var package: String { folder + "/agentbox.deb" }
        var log: String { folder + "/dtma.log" }
    }

    /// Seconds between download attempts (the runcmd's curl retries every 10 s, 30 times).
    static let downloadRetry = 2.0
    /// Seconds from SIGTERM to SIGKILL.
    static let stopTimeout = 5.0

    private let configuration: DropletBootConfiguration
    private let logger: Logger
    let root: String
    /// The stand-in made `root` and removes it when it stops.
    private let ownsRoot: Bool
    private var machines: [Int: Machine] = [:]
    /// Droplets that turned active with user-data that is not agentbox's: they run nothing.
    private var ignored: Set<Int> = []
    /// Every DTMA process not reaped yet, with its droplet.
    private var live: [pid_t: Int] = [:]
    private var resets = 0
    private var shuttingDown = false

    /// Makes the droplet root: the configured folder (created 0700 if missing) or a fresh temporary one.
    init(configuration: DropletBootConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        if let root = configuration.root {
            let url = URL(fileURLWithPath: root).standardizedFileURL
            var isFolder: ObjCBool = false
            if !FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } else if !isFolder.boolValue {
                throw BootError("the droplet root \(url.path) is not a folder")
            }
            self.root = url.path
            ownsRoot = false
        } else {
            var template = Array((FileManager.default.temporaryDirectory.path + "/agentbox-do-sim-droplets-XXXXXX").utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw BootError("could not make a temporary droplet root: \(ChildProcess.errnoText())")
            }
            self.root = String(cString: made)
            ownsRoot = true
        }
    }

    struct BootError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: The tick

    /// Follows the simulated cloud every 0.2 s until cancelled or shut down.
    func run(state: StandInState) async {
        while !Task.isCancelled && !shuttingDown {
            let view = await state.bootView(now: Date())
            apply(view, now: Date())
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    private func apply(_ view: BootView, now: Date) {
        guard !shuttingDown else { return }
        for id in view.deleted { destroy(id) }
        if view.resets != resets {
            resets = view.resets
            for machine in machines.values.sorted(by: { $0.id < $1.id }) {
                if let pid = machine.pid { stop(pid) }
            }
            if !machines.isEmpty { logger.notice("reset: stopped the DTMA of \(machines.count) droplet(s)") }
            machines = [:]
        }
        for droplet in view.droplets {
            if machines[droplet.id] == nil {
                guard droplet.status == .active, !ignored.contains(droplet.id) else { continue }
                guard let userData = droplet.userData.flatMap(AgentboxUserData.init) else {
                    ignored.insert(droplet.id)
                    logger.info("droplet \(droplet.id) is active; its user-data is not agentbox's cloud-config, so it runs nothing")
                    continue
                }
                let folder = root + "/droplet-\(droplet.id)"
                machines[droplet.id] = Machine(id: droplet.id, folder: folder, userData: userData, reboots: droplet.reboots)
                logger.notice("droplet \(droplet.id) booted: its DTMA runs in \(folder)")
            }
            guard var machine = machines[droplet.id] else { continue }
            machine.poweredOn = droplet.status == .active
            if droplet.reboots != machine.reboots {
                machine.reboots = droplet.reboots
                if let pid = machine.pid {
                    machine.restartAtOnce = true
                    if !machine.stopping {
                        machine.stopping = true
                        stop(pid)
                    }
                } else {
                    machine.nextStart = now
                }
                logger.notice("droplet \(droplet.id) rebooted: its DTMA restarts")
            }
            machines[droplet.id] = machine
        }
        for id in machines.keys.sorted() { step(id, now: now) }
    }

    /// Moves one droplet on: folder and package, start, or stop.
    private func step(_ id: Int, now: Date) {
        guard !shuttingDown, var machine = machines[id] else { return }
        defer { machines[id] = machine }
        guard machine.poweredOn else {
            if let pid = machine.pid, !machine.stopping {
                machine.stopping = true
                logger.notice("droplet \(id) is off: stopping its DTMA (pid \(pid))")
                stop(pid)
            }
            return
        }
        if machine.packageBytes == nil {
            guard !machine.downloading, now >= machine.nextDownload else { return }
            machine.downloading = true
            let (folder, userData, prepared) = (machine.folder, machine.userData, machine.prepared)
            let logger = logger
            Task {
                let outcome = await Self.fetch(folder: folder, userData: userData, prepared: prepared, logger: logger)
                self.fetched(id, outcome)
            }
            return
        }
        guard machine.pid == nil, now >= machine.nextStart else { return }
        machine.starts += 1
        mkdir(machine.stateDirectory, 0o700)
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AGENTBOX_") }
        for (name, value) in machine.userData.variables { environment[name] = value }
        environment["AGENTBOX_ENROLLMENT_TOKEN_FILE"] = machine.tokenFile
        environment["STATE_DIRECTORY"] = machine.stateDirectory
        do {
            let pid = try ChildProcess.spawn(
                configuration.executable, ["dtma"], environment: environment, standardOutput: .append(machine.log), standardError: .standardOutput,
                newProcessGroup: true)
            machine.pid = pid
            machine.stopping = false
            if machine.bootError?.hasPrefix("could not start") == true { machine.bootError = nil }
            live[pid] = id
            logger.notice("droplet \(id): started \(configuration.executable) dtma (pid \(pid), start \(machine.starts))")
            Task {
                let termination = await ChildProcess.waitForExit(pid)
                self.exited(pid, termination)
            }
        } catch {
            machine.bootError = error.description
            machine.nextStart = now.addingTimeInterval(max(configuration.restartDelay, 0.2))
            logger.error("droplet \(id): \(error.description)")
        }
    }

    private func fetched(_ id: Int, _ outcome: FetchOutcome) {
        guard var machine = machines[id] else { return }
        machine.downloading = false
        machine.prepared = machine.prepared || outcome.prepared
        switch outcome.result {
        case .success(let bytes):
            machine.packageBytes = bytes
            machine.bootError = nil
            logger.notice("droplet \(id): fetched the agent package (\(bytes) bytes)")
        case .failure(let error):
            if machine.bootError != error.description { logger.warning("droplet \(id): \(error.description); retrying every \(Self.downloadRetry) s") }
            machine.bootError = error.description
            machine.nextDownload = Date().addingTimeInterval(Self.downloadRetry)
        }
        machines[id] = machine
        if machine.packageBytes != nil { step(id, now: Date()) }
    }

    private func exited(_ pid: pid_t, _ termination: ChildProcess.Termination) {
        live[pid] = nil
        // What it started and left behind goes too, as systemd stops the rest of a unit's processes.
        kill(-pid, SIGKILL)
        guard let id = machines.first(where: { $0.value.pid == pid })?.key, var machine = machines[id] else { return }
        defer { machines[id] = machine }
        machine.pid = nil
        machine.stopping = false
        let delay = machine.restartAtOnce ? 0 : configuration.restartDelay
        machine.restartAtOnce = false
        machine.nextStart = Date().addingTimeInterval(delay)
        logger.notice("droplet \(id): its DTMA (pid \(pid)) \(termination)\(machine.poweredOn && !shuttingDown ? "; restarting in \(delay) s" : "")")
    }

    /// SIGTERM to the process's group, SIGKILL after `stopTimeout` if it still runs.
    private func stop(_ pid: pid_t) {
        kill(-pid, SIGTERM)
        Task {
            try? await Task.sleep(for: .seconds(Self.stopTimeout))
            self.escalate(pid)
        }
    }

    private func escalate(_ pid: pid_t) {
        guard live[pid] != nil else { return }
        logger.warning("the DTMA with pid \(pid) did not stop within \(Self.stopTimeout) s of SIGTERM: SIGKILL")
        kill(-pid, SIGKILL)
    }

    /// A deleted droplet: its DTMA stops for good and its toolbox's containers go.
    private func destroy(_ id: Int) {
        guard let machine = machines.removeValue(forKey: id) else { return }
        if let pid = machine.pid { stop(pid) }
        logger.notice("droplet \(id) deleted: its DTMA stops for good")
        if let toolbox = machine.userData.variable("AGENTBOX_TOOLBOX_ID") {
            let (socket, logger) = (configuration.dockerSocket, logger)
            Task { await DockerCleanup.removeContainers(toolbox: toolbox, socket: socket, logger: logger) }
        }
    }

    // MARK: Control

    /// `dtma` of `GET /_sim/state` for every droplet that booted.
    func statuses() -> [Int: JSONValue] {
        machines.mapValues { machine in
            [
                "pid": machine.pid.map { .int(Int($0)) } ?? .null, "running": .bool(machine.pid != nil), "starts": .int(machine.starts),
                "folder": .string(machine.folder), "boot_error": machine.bootError.map(JSONValue.string) ?? .null,
                "package_bytes": machine.packageBytes.map(JSONValue.int) ?? .null,
            ]
        }
    }

    /// Stops every DTMA (SIGTERM, SIGKILL after `stopTimeout`), waits for them, and removes the root if the stand-in made it.
    func shutdown() async {
        shuttingDown = true
        ChildProcess.killHelpers()
        if !live.isEmpty { logger.notice("stopping the DTMA of \(live.count) droplet(s)") }
        for pid in live.keys { kill(-pid, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(Self.stopTimeout)
        while !live.isEmpty && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        for pid in live.keys { kill(-pid, SIGKILL) }
        let reaped = ContinuousClock.now + .seconds(2)
        while !live.isEmpty && ContinuousClock.now < reaped { try? await Task.sleep(for: .milliseconds(50)) }
        machines = [:]
        if ownsRoot { try? FileManager.default.removeItem(atPath: root) }
    }

    // MARK: The runcmd's work

    struct FetchOutcome: Sendable {
        /// The folder has the cloud-config's files.
        let prepared: Bool
        /// The package's size, or why there is none.
        let result: Result<Int, BootError>
    }

    /// Writes the droplet's files (the first time), then fetches the agent package as the runcmd does and checks it.
    private static func fetch(folder: String, userData: AgentboxUserData, prepared: Bool, logger: Logger) async -> FetchOutcome {
        if !prepared {
            let made = await Blocking.run { Result { () throws(BootError) in try prepare(folder: folder, userData: userData) } }
            if case .failure(let error) = made { return FetchOutcome(prepared: false, result: .failure(error)) }
        }
        return FetchOutcome(prepared: true, result: await download(folder: folder, userData: userData))
    }

    /// A fresh folder 0700 with the token (0600), agent.conf and the state directory (0700).
    private static func prepare(folder: String, userData: AgentboxUserData) throws(BootError) {
        // Droplet ids start over with each run of the stand-in: a folder left by an earlier run is another machine's disk.
        if FileManager.default.fileExists(atPath: folder) { try? FileManager.default.removeItem(atPath: folder) }
        guard mkdir(folder, 0o700) == 0, chmod(folder, 0o700) == 0 else { throw BootError("could not make \(folder): \(ChildProcess.errnoText())") }
        try write(Data(userData.enrollmentToken.utf8), to: folder + "/enrollment-token", mode: 0o600)
        try write(Data(userData.agentConf.utf8), to: folder + "/agent.conf", mode: 0o644)
        guard mkdir(folder + "/state", 0o700) == 0, chmod(folder + "/state", 0o700) == 0 else {
            throw BootError("could not make \(folder)/state: \(ChildProcess.errnoText())")
        }
    }

    private static func write(_ data: Data, to path: String, mode: mode_t) throws(BootError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw BootError("could not write \(path): \(ChildProcess.errnoText())") }
        defer { close(descriptor) }
        guard fchmod(descriptor, mode) == 0 else { throw BootError("could not set the mode of \(path): \(ChildProcess.errnoText())") }
        var written = 0
        while written < data.count {
            let count = data.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, data.count - written) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw BootError("could not write \(path): \(ChildProcess.errnoText())") }
            written += count
        }
    }

    /// `GET $AGENTBOX_APPLIANCE_URL/api/v1/agent/package` with the enrollment token, by curl with the runcmd's
    /// options (the token in a header file, the pin when there is one), saved as agentbox.deb once it proves a Debian package.
    private static func download(folder: String, userData: AgentboxUserData) async -> Result<Int, BootError> {
        guard let url = userData.variable("AGENTBOX_APPLIANCE_URL"), !url.isEmpty else {
            return .failure(BootError("agent.conf has no AGENTBOX_APPLIANCE_URL to fetch the agent package from"))
        }
        let header = folder + "/enroll.header"
        let partial = folder + "/agentbox.deb.part"
        let package = folder + "/agentbox.deb"
        do {
            try write(Data("Authorization: Bearer \(userData.enrollmentToken)\n".utf8), to: header, mode: 0o600)
        } catch {
            return .failure(error)
        }
        var arguments = ["--fail", "--silent", "--show-error", "--connect-timeout", "10", "--max-time", "300"]
        if let pin = userData.variable("AGENTBOX_APPLIANCE_PIN"), !pin.isEmpty { arguments += ["--insecure", "--pinnedpubkey", pin] }
        arguments += ["-H", "@" + header, "-o", partial, url + "/api/v1/agent/package"]
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AGENTBOX_") }
        let run = await ChildProcess.run("curl", arguments, environment: environment, limit: 4096)
        unlink(header)
        let failure: String?
        switch run {
        case .failure(let error): failure = error.description
        case .success(let run) where run.termination != .exited(0):
            let message = String(decoding: run.errors, as: UTF8.self).split(separator: "\n").first.map(String.init)
            failure = message ?? "curl \(run.termination)"
        case .success: failure = nil
        }
        if let failure {
            unlink(partial)
            return .failure(BootError("fetching the agent package from \(url)/api/v1/agent/package failed: \(failure)"))
        }
        return await Blocking.run {
            if let problem = debianPackageProblem(partial) {
                unlink(partial)
                return .failure(BootError("the agent package from \(url)/api/v1/agent/package is not a Debian package: \(problem)"))
            }
            guard rename(partial, package) == 0 else { return .failure(BootError("could not save \(package): \(ChildProcess.errnoText())")) }
            var info = stat()
            guard stat(package, &info) == 0 else { return .failure(BootError("could not read \(package): \(ChildProcess.errnoText())")) }
            return .success(Int(info.st_size))
        }
    }

    /// Why the file is not a Debian package (an `ar` archive with a `debian-binary` member); nil when it is one.
    static func debianPackageProblem(_ path: String) -> String? {
        guard let file = FileHandle(forReadingAtPath: path) else { return "it cannot be read" }
        defer { try? file.close() }
        guard (try? file.read(upToCount: 8)) == Data("!<arch>\n".utf8) else { return "it does not start with !<arch>" }
        var offset: UInt64 = 8
        while let header = try? file.read(upToCount: 60), header.count == 60 {
            guard header[header.startIndex + 58] == 0x60, header[header.startIndex + 59] == 0x0a else { return "a member header is damaged" }
            let name = String(decoding: header.prefix(16), as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if name == "debian-binary" || name == "debian-binary/" { return nil }
            let sizeText = String(decoding: header[header.startIndex + 48..<header.startIndex + 58], as: UTF8.self)
            guard let size = UInt64(sizeText.trimmingCharacters(in: .whitespaces)) else { return "a member header is damaged" }
            offset += 60 + size + size % 2
            guard (try? file.seek(toOffset: offset)) != nil else { break }
        }
        return "it has no debian-binary member"
    }
}

/// Removes a deleted droplet's toolbox containers from the local Docker engine, through its API with curl.
enum DockerCleanup {
    static func removeContainers(toolbox: String, socket: String, logger: Logger) async {
        guard !toolbox.isEmpty, toolbox.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || "0123456789-_.".unicodeScalars.contains($0)) })
        else { return }
        // No engine here: nothing ran, so nothing to remove.
        guard FileManager.default.fileExists(atPath: socket) else { return }
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AGENTBOX_") }
        let options = ["--silent", "--show-error", "--fail", "--max-time", "20", "--unix-socket", socket]
        let filters = #"{"label":["agentbox.toolbox=\#(toolbox)"]}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let listed = await ChildProcess.run("curl", options + ["http://localhost/containers/json?all=1&filters=" + filters], environment: environment)
        guard case .success(let list) = listed, list.termination == .exited(0), let containers = (try? JSONValue(parsing: list.output))?.array else {
            logger.debug("no Docker engine answered on \(socket); no containers to remove for toolbox \(toolbox)")
            return
        }
        for container in containers {
            guard let id = container["Id"]?.string, !id.isEmpty, id.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit }) else { continue }
            let removed = await ChildProcess.run("curl", options + ["-X", "DELETE", "http://localhost/containers/\(id)?force=1"], environment: environment)
            if case .success(let run) = removed, run.termination == .exited(0) {
                logger.notice("toolbox \(toolbox): removed container \(id.prefix(12)) with its droplet")
            } else {
                logger.warning("toolbox \(toolbox): could not remove container \(id.prefix(12))")
            }
        }
    }
}

import ArgumentParser
import Dispatch
import DockerHost
import Foundation
import Logging
import ToolboxAgent
import ToolboxProtocol

/// `agentbox dtma`: the DTMA of a DigitalOcean toolbox, on its droplet.
struct DTMACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dtma",
        abstract: "Run a droplet's toolbox agent (DTMA): call home to the appliance and run its tool containers on Docker.",
        discussion: """
            On a DigitalOcean toolbox's droplet, systemd runs this as agentbox-dtma.service \
            (ExecStart=/usr/bin/agentbox dtma, Restart=always). The droplet opens every connection: it \
            needs no inbound port. It enrolls once, then sends heartbeats (and gets back what to run), \
            converges the containers labelled for its toolbox, waits for tool calls (long poll) and runs \
            them against 127.0.0.1:<host port>, reports container events, and updates itself to the \
            agent release the appliance serves (download, SHA-256 check, self-test, exec; rolled back \
            if the new binary does not come up healthy). The containers keep running while the \
            appliance is unreachable or the agent restarts.

            Settings come from the environment; systemd reads them from /etc/agentbox/agent.conf \
            (EnvironmentFile=), which the droplet's user-data writes:

            AGENTBOX_APPLIANCE_URL: the appliance, https://... (plain http only to a loopback address).
            AGENTBOX_APPLIANCE_PIN: empty, or sha256//<base64>, the pin of the appliance's TLS key \
            (its certificate is self-signed; then only that key is trusted).
            AGENTBOX_TOOLBOX_ID: this droplet's toolbox id.
            AGENTBOX_ENROLLMENT_TOKEN_FILE: the file holding the single-use enrollment token (0600).
            AGENTBOX_DOCKER_SOCKET, AGENTBOX_LOG_LEVEL, AGENTBOX_LOG_FORMAT: as the options below.

            Tokens are read from files only, never from the environment. At its first start the agent \
            trades the enrollment token for the toolbox token and keeps that in <state>/toolbox-token \
            (mode 0600); a restarted agent or rebooted droplet uses it and never enrolls again. The \
            state folder (0700) is --state-dir, else $STATE_DIRECTORY (systemd's StateDirectory=, \
            /var/lib/agentbox-dtma), else /var/lib/agentbox-dtma; it also holds releases/ (updated \
            binaries) and release.json (which binary runs, which versions failed).

            Logs go to standard error (the journal): journalctl -u agentbox-dtma. Stops cleanly on \
            SIGTERM or SIGINT; the containers keep running.
            """)

    @Option(help: ArgumentHelp(
        "The agent's state folder (default $STATE_DIRECTORY, else /var/lib/agentbox-dtma).", valueName: "dir"))
    var stateDir: String?

    @OptionGroup var docker: DockerSocketOption

    @Option(name: .long, help: ArgumentHelp(
        "Log level: trace, debug, info, notice, warning, error or critical (env AGENTBOX_LOG_LEVEL; default info).", valueName: "level"))
    var logLevel: String?

    @Option(name: .long, help: ArgumentHelp(
        "Log format on standard error: text, or json for one JSON object a line (env AGENTBOX_LOG_FORMAT; default text).", valueName: "format"))
    var logFormat: String?

    @Flag(help: ArgumentHelp(
        "Check this binary can work here and exit: settings, token file, Docker engine, the appliance's /healthz through the pinned client; prints 'agentbox-dtma-ok <version>'."))
    var selfTest = false

    @Option(help: .hidden)
    var updateGrace: Double?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let logger = try prepareLogging(environment)
        let settings: DTMASettings
        do {
            settings = try DTMASettings.load(environment: environment, stateDirectory: stateDir, dockerSocket: docker.path)
        } catch {
            logger.critical("\(error.message)")
            throw ExitCode(78)  // EX_CONFIG: systemd restarts it; the journal says what to fix
        }
        if selfTest {
            try await runSelfTest(settings)
            return
        }
        let grace = updateGrace ?? 60
        guard grace > 0 else { throw ValidationError("--update-grace must be a positive number of seconds") }
        let log = DTMALog { level, message in
            switch level {
            case .debug: logger.debug("\(message)")
            case .info: logger.info("\(message)")
            case .notice: logger.notice("\(message)")
            case .warning: logger.warning("\(message)")
            case .error: logger.error("\(message)")
            }
        }
        let dtma = RemoteDTMA(
            settings: settings, options: .init(updateGrace: .milliseconds(Int64(grace * 1000)), arguments: Array(CommandLine.arguments.dropFirst())), log: log)
        let task = Task { try await dtma.run() }
        let signals = Self.onTermination { signal in
            logger.notice("agentbox dtma: \(signal == SIGTERM ? "SIGTERM" : "SIGINT") received; stopping")
            task.cancel()
        }
        defer { signals.forEach { $0.cancel() } }
        do {
            try await task.value
        } catch {
            logger.critical("\((error as? DTMAError)?.message ?? "\(error)")")
            throw ExitCode.failure
        }
    }

    /// `--self-test`: what a new binary must pass before the running one `exec`s it.
    private func runSelfTest(_ settings: DTMASettings) async throws {
        do throws(DTMAError) {
            if (try settings.storedToolboxToken()) == nil {
                _ = try settings.enrollmentToken()
            }
            do {
                try await DockerClient(socketPath: settings.dockerSocket).ping()
            } catch {
                throw DTMAError(.docker, "the Docker engine at \(settings.dockerSocket) does not answer: \(error.message)")
            }
            try await ApplianceLink(settings: settings, token: nil).health()
        } catch {
            FileHandle.standardError.write(Data("agentbox dtma --self-test failed: \(error.message)\n".utf8))
            throw ExitCode.failure
        }
        print("agentbox-dtma-ok \(AgentboxBuild.version)")
    }

    private func prepareLogging(_ environment: [String: String]) throws -> Logger {
        try DataOptions.prepareProcess(logLevel: logLevel, logFormat: logFormat, environment: environment, label: "agentbox.dtma")
    }

    /// Calls `handler` on SIGTERM and SIGINT instead of dying at once.
    private static func onTermination(_ handler: @escaping @Sendable (Int32) -> Void) -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }
}

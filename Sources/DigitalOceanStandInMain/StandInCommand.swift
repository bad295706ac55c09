import ArgumentParser
import DigitalOceanStandIn
import Foundation
import Logging

/// `agentbox-do-sim`: the DigitalOcean stand-in as a process, for tests and for developing without a cloud account.
@main
struct StandInCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentbox-do-sim",
        abstract: "A stand-in for the DigitalOcean API v2 (droplets, actions, regions, sizes, images, account).",
        discussion: """
            Point a DigitalOcean client at the printed URL instead of https://api.digitalocean.com and send \
            Authorization: Bearer <token>. Droplets go new -> active after --active-after seconds; the public IPv4 \
            shows --ip-after seconds later. Requests count against sliding per-minute and per-hour limits.

            On start it prints one line to standard output: \
            agentbox-do-sim listening on http://HOST:PORT (token TOKEN). The request log goes to standard error. \
            Stops cleanly on SIGTERM or SIGINT.

            Control API (same token, JSON): POST /_sim/faults adds faults, e.g. {"latency_ms": 200}, \
            {"fail": [{"status": 503, "count": 2, "method": "POST", "path_prefix": "/v2/droplets"}]}, \
            {"drop": [{"count": 1, "path_prefix": "/v2/droplets"}]}, {"rate_limit_burst": {"count": 2, "retry_after": 1}}, \
            {"drop_after_create": 1}, {"placement_failure": {"count": 1, "message": "..."}}, \
            {"active_after_seconds": 0.5, "ip_after_seconds": 2, "action_seconds": 0.2, "not_found_for_seconds": 0.5}; \
            GET /_sim/faults shows them; DELETE /_sim/faults clears them; GET /_sim/state lists every droplet, action \
            and request; POST /_sim/reset forgets everything.

            Droplets that boot (--boot-dtma PATH): when a droplet turns active and its user_data is agentbox's \
            cloud-config, the stand-in does here what the cloud-config does on a droplet. It makes \
            DIR/droplet-<id>/ (DIR from --droplet-root) with the enrollment-token and agent.conf the cloud-config \
            writes, fetches $AGENTBOX_APPLIANCE_URL/api/v1/agent/package with the token (curl, as the runcmd does; \
            retried every 2 s, the error shown as boot_error) and keeps it as agentbox.deb without installing it, \
            then runs PATH dtma as the unit would: agent.conf's variables in its environment (none inherited from \
            the stand-in's own AGENTBOX_* variables), AGENTBOX_ENROLLMENT_TOKEN_FILE set to the folder's copy, \
            STATE_DIRECTORY=DIR/droplet-<id>/state, its output appended to DIR/droplet-<id>/dtma.log, restarted \
            --dtma-restart-delay seconds after it exits. power_off and shutdown stop it (SIGTERM, SIGKILL after 5 s), \
            power_on starts it, reboot restarts it. Deleting the droplet stops it for good and removes the containers \
            labelled agentbox.toolbox=<its toolbox id> from the Docker engine at --docker-socket, if one answers. \
            POST /_sim/reset and the stand-in's exit stop every DTMA and remove nothing else (but the temporary \
            droplet root). GET /_sim/state shows each booted droplet's "dtma": pid, running, starts, folder, \
            boot_error, package_bytes. Other user_data boots nothing.

            Every option also reads AGENTBOX_DO_SIM_<OPTION> (e.g. AGENTBOX_DO_SIM_PORT) when not given.
            """)

    @Option(help: ArgumentHelp("Address to listen on (default 127.0.0.1; only loopback without --allow-remote).", valueName: "address"))
    var host: String?

    @Flag(help: "Allow a non-loopback --host. The stand-in has one shared token and no TLS.")
    var allowRemote = false

    @Option(help: ArgumentHelp("Port to listen on (default 8421; 0 picks a free port).", valueName: "port"))
    var port: Int?

    @Option(help: ArgumentHelp("The bearer token to accept (default: a random one, printed at start).", valueName: "token"))
    var token: String?

    @Option(help: ArgumentHelp("Seconds from create to active (default 3).", valueName: "seconds"))
    var activeAfter: Double?

    @Option(help: ArgumentHelp("Seconds from active to the public IPv4 showing (default 1).", valueName: "seconds"))
    var ipAfter: Double?

    @Option(help: ArgumentHelp("Seconds a droplet action (power_off, resize, ...) takes (default 1).", valueName: "seconds"))
    var actionSeconds: Double?

    @Option(help: ArgumentHelp("Seconds a just-created droplet answers 404 (default 0).", valueName: "seconds"))
    var notFoundFor: Double?

    @Option(help: ArgumentHelp("The account's droplet limit (default 25).", valueName: "count"))
    var dropletLimit: Int?

    @Option(help: ArgumentHelp("Requests per token in any sliding minute (default 250).", valueName: "count"))
    var rateLimitPerMinute: Int?

    @Option(help: ArgumentHelp("Requests per token in any sliding hour (default 5000).", valueName: "count"))
    var rateLimitPerHour: Int?

    @Option(
        help: ArgumentHelp(
            "The agentbox binary that each droplet with agentbox's cloud-config runs here as `PATH dtma` (default: droplets run nothing).",
            valueName: "path"))
    var bootDtma: String?

    @Option(
        help: ArgumentHelp(
            "The folder for the droplets' files, a droplet-<id> folder each (default: a temporary folder, removed at exit).", valueName: "dir"))
    var dropletRoot: String?

    @Option(help: ArgumentHelp("Seconds from a droplet's DTMA exiting to its restart, like systemd's Restart=always (default 1).", valueName: "seconds"))
    var dtmaRestartDelay: Double?

    @Option(
        help: ArgumentHelp(
            "The Docker engine's socket, where a deleted droplet's toolbox containers are removed (default /var/run/docker.sock).",
            valueName: "path"))
    var dockerSocket: String?

    func run() async throws {
        let host = try Self.setting(host, "host", default: "127.0.0.1")
        guard allowRemote || Self.isLoopback(host) else {
            throw ValidationError(
                "--host \(host) is not a loopback address; the stand-in has one shared token and no TLS. Add --allow-remote to listen there anyway.")
        }
        let port = try Self.setting(port, "port", default: 8421)
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port) is out of range; use 1-65535, or 0 for any free port.") }
        let timings = StandInTimings(
            activeAfter: try Self.seconds(activeAfter, "active-after", default: 3),
            ipAfter: try Self.seconds(ipAfter, "ip-after", default: 1),
            actionDuration: try Self.seconds(actionSeconds, "action-seconds", default: 1),
            notFoundFor: try Self.seconds(notFoundFor, "not-found-for", default: 0))
        let configuration = StandInConfiguration(
            host: host, port: port, token: try Self.setting(token, "token", default: StandInConfiguration.randomToken()), timings: timings,
            dropletLimit: try Self.count(dropletLimit, "droplet-limit", default: 25),
            rateLimits: RateLimits(
                perMinute: try Self.count(rateLimitPerMinute, "rate-limit-per-minute", default: 250),
                perHour: try Self.count(rateLimitPerHour, "rate-limit-per-hour", default: 5000)),
            boot: try boot())
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let urlHost = host.contains(":") ? "[\(host)]" : host
        try await StandInServer(configuration: configuration).run { port in
            let line = "agentbox-do-sim listening on http://\(urlHost):\(port) (token \(configuration.token))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    }

    /// How droplets boot: nil without --boot-dtma.
    private func boot() throws -> DropletBootConfiguration? {
        let restartDelay = try Self.seconds(dtmaRestartDelay, "dtma-restart-delay", default: 1)
        let root = Self.optionalSetting(dropletRoot, "droplet-root") ?? ""
        guard let path = Self.optionalSetting(bootDtma, "boot-dtma"), !path.isEmpty else { return nil }
        let executable = URL(fileURLWithPath: path).standardizedFileURL.path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ValidationError("--boot-dtma \(path) is not an executable file; give the path of an agentbox binary.")
        }
        let socket = Self.optionalSetting(dockerSocket, "docker-socket") ?? "/var/run/docker.sock"
        return DropletBootConfiguration(executable: executable, root: root.isEmpty ? nil : root, restartDelay: restartDelay, dockerSocket: socket)
    }

    /// The option, else its environment variable AGENTBOX_DO_SIM_<NAME>, else nil.
    private static func optionalSetting(_ option: String?, _ name: String) -> String? {
        option ?? ProcessInfo.processInfo.environment[variable(name)]
    }

    private static func variable(_ name: String) -> String {
        "AGENTBOX_DO_SIM_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// The option, else its environment variable AGENTBOX_DO_SIM_<NAME>, else the default.
    private static func setting<Value: LosslessStringConvertible>(_ option: Value?, _ name: String, default value: Value) throws -> Value {
        if let option { return option }
        let variable = variable(name)
        guard let text = ProcessInfo.processInfo.environment[variable] else { return value }
        guard let parsed = Value(text) else { throw ValidationError("\(variable) '\(text)' is not a valid value for --\(name).") }
        return parsed
    }

    private static func seconds(_ option: Double?, _ name: String, default value: Double) throws -> Double {
        let seconds = try setting(option, name, default: value)
        guard seconds >= 0, seconds <= 86_400 else { throw ValidationError("--\(name) must be from 0 to 86400 seconds, not \(seconds).") }
        return seconds
    }

    private static func count(_ option: Int?, _ name: String, default value: Int) throws -> Int {
        let count = try setting(option, name, default: value)
        guard count >= 1 else { throw ValidationError("--\(name) must be 1 or more, not \(count).") }
        return count
    }

    private static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || (host.hasPrefix("127.") && host.split(separator: ".").count == 4)
    }
}

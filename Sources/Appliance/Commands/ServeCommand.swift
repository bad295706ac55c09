import ArgumentParser
import DockerHost
import Foundation
import Logging
import Metrics
import Services

/// `agentbox serve`: the long-running appliance.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the appliance: open or create the data directory, migrate, unseal the vault and serve HTTP.",
        discussion: """
            Stops cleanly on SIGTERM or SIGINT. Only one process may use a data directory at a time. \
            GET /healthz, /readyz (database, vault, Docker) and /metrics (Prometheus) need no token: \
            keep the server on loopback or firewall /metrics.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var docker: DockerSocketOption

    @Option(help: ArgumentHelp("Address to listen on (env AGENTBOX_HOST; default 127.0.0.1).", valueName: "address"))
    var host: String?

    @Option(help: ArgumentHelp("Port to listen on (env AGENTBOX_PORT; default 8420; 0 picks a free port).", valueName: "port"))
    var port: Int?

    @Option(help: ArgumentHelp(
        "Host ports leased to local tool instances (env AGENTBOX_PORT_RANGE; default 29000-29999).", valueName: "low-high"))
    var portRange: String?

    @Option(help: ArgumentHelp(
        "Seconds between passes of the local toolboxes' reconciler (env AGENTBOX_RECONCILE_INTERVAL; default 5; 0 turns the local DTMA off).",
        valueName: "seconds"))
    var reconcileInterval: Double?

    @Option(help: ArgumentHelp(
        "Who may create local toolboxes: everyone or admins (env AGENTBOX_LOCAL_TOOLBOXES; default everyone).", valueName: "who"))
    var localToolboxes: String?

    @OptionGroup var digitalOceanAPI: DigitalOceanAPIOption

    @Flag(help: ArgumentHelp(
        "Serve HTTPS with a key and self-signed certificate made once in the data directory (tls/); droplets pin the key (env AGENTBOX_TLS=1)."))
    var tls = false

    @Option(help: ArgumentHelp(
        "The URL droplets call home to, e.g. https://agentbox.example.com:8420 (env AGENTBOX_PUBLIC_URL); needed for DigitalOcean toolboxes.",
        valueName: "url"))
    var publicURL: String?

    @Option(help: ArgumentHelp(
        "Seconds a DigitalOcean toolbox's agent has to enroll before the toolbox turns error (env AGENTBOX_ENROLLMENT_TIMEOUT; default 900).",
        valueName: "seconds"))
    var enrollmentTimeout: Int?

    @Option(help: ArgumentHelp(
        "Seconds between heartbeats of droplets' DTMAs; one silent for three intervals turns unreachable (env AGENTBOX_DTMA_HEARTBEAT_INTERVAL; default 10).",
        valueName: "seconds"))
    var dtmaHeartbeatInterval: Double?

    @Option(help: ArgumentHelp(
        "The agentbox binary that droplets download and run (env AGENTBOX_AGENT_BINARY; default: this one; the same platform as the droplets).",
        valueName: "path"))
    var agentBinary: String?

    @Option(help: ArgumentHelp(
        "Failed token checks a client address may make per minute; past them its requests get 429 until the allowance refills "
            + "(env AGENTBOX_TOKEN_FAILURES_PER_MINUTE; default 20; 0 turns the limit off).",
        valueName: "count"))
    var tokenFailuresPerMinute: Int?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let host = host ?? environment["AGENTBOX_HOST"] ?? "127.0.0.1"
        let port = try port ?? environment["AGENTBOX_PORT"].map(Self.parsePort) ?? 8420
        guard (0...65535).contains(port) else {
            throw ValidationError("port \(port) is out of range; use 1-65535, or 0 for any free port")
        }
        let portRange = try (portRange ?? environment["AGENTBOX_PORT_RANGE"]).map(PortLeases.parseRange) ?? PortLeases.defaultRange
        let policyName = localToolboxes ?? environment["AGENTBOX_LOCAL_TOOLBOXES"] ?? LocalToolboxPolicy.everyone.rawValue
        guard let policy = LocalToolboxPolicy(rawValue: policyName) else {
            throw ValidationError("--local-toolboxes must be everyone or admins, not '\(policyName)'")
        }
        let interval = try reconcileInterval ?? environment["AGENTBOX_RECONCILE_INTERVAL"].map { try Self.number($0, "AGENTBOX_RECONCILE_INTERVAL") } ?? 5
        guard interval >= 0 else { throw ValidationError("--reconcile-interval must be 0 (off) or more seconds") }
        let apiURL = try digitalOceanAPI.resolved()
        let enrollment = try enrollmentTimeout ?? environment["AGENTBOX_ENROLLMENT_TIMEOUT"].map(Self.parseSeconds) ?? 900
        guard enrollment > 0 else { throw ValidationError("--enrollment-timeout must be a positive number of seconds") }
        let publicURL = try (publicURL ?? environment["AGENTBOX_PUBLIC_URL"]).map(Self.publicURL)
        let beat = try dtmaHeartbeatInterval ?? environment["AGENTBOX_DTMA_HEARTBEAT_INTERVAL"].map { try Self.number($0, "AGENTBOX_DTMA_HEARTBEAT_INTERVAL") } ?? 10
        guard beat >= 0.2, beat <= 3600 else { throw ValidationError("--dtma-heartbeat-interval must be from 0.2 to 3600 seconds") }
        let agentBinary = try (agentBinary ?? environment["AGENTBOX_AGENT_BINARY"]).map(Self.agentBinary)
        let tokenFailures = try tokenFailuresPerMinute ?? environment["AGENTBOX_TOKEN_FAILURES_PER_MINUTE"].map {
            guard let count = Int($0) else { throw ValidationError("AGENTBOX_TOKEN_FAILURES_PER_MINUTE '\($0)' is not a whole number") }
            return count
        } ?? TokenAttemptLimiter.Policy.standard.failures
        guard tokenFailures >= 0 else { throw ValidationError("--token-failures-per-minute must be 0 (off) or more") }
        let backend = try await data.openBackend(.create, label: "agentbox")
        // With --tls, the certificate names loopback, the listening address and the public URL's host; droplets pin its key.
        var identity: ServerIdentity?
        if tls || environment["AGENTBOX_TLS"] == "1" {
            let hosts = ["localhost", "127.0.0.1", host] + [publicURL.flatMap { URLComponents(string: $0)?.host }].compactMap { $0 }
            identity = try ServerIdentity.loadOrCreate(
                in: backend.directory.path + "/tls", hosts: Array(Set(hosts.filter { $0 != "0.0.0.0" && $0 != "::" })).sorted())
        }
        // With the local DTMA on, a local toolbox is created only while the engine answers.
        var configuration = ControlPlane.Configuration(
            portRange: portRange, localToolboxes: policy, dockerSocket: interval > 0 ? docker.path : nil, digitalOceanAPI: apiURL,
            enrollmentTimeout: .seconds(enrollment), publicURL: publicURL, appliancePin: identity?.pin,
            heartbeatInterval: .milliseconds(Int(beat * 1000)))
        configuration.agentBinary = agentBinary
        configuration.tokenAttempts = TokenAttemptLimiter.Policy(failures: tokenFailures)
        let plane = ControlPlane(backend: backend, configuration: configuration)
        let metrics = ServerMetrics()
        MetricsSystem.bootstrap(metrics.factory)
        // The DTMA role of local toolboxes runs beside the server and stops with it.
        if interval > 0 { plane.calls.attach(LocalToolCalls(handouts: plane.handouts), for: .local) }
        let dtma = interval > 0 ? Task {
            await LocalToolboxRunner(
                control: plane.toolboxControl, docker: DockerClient(socketPath: docker.path), interval: .milliseconds(Int(interval * 1000)),
                logger: Logger(label: "agentbox.dtma")
            ).run()
        } : nil
        defer { dtma?.cancel() }
        // DigitalOcean toolboxes' droplets are created, waited for and deleted beside the server.
        let provisioner = Task {
            await DigitalOceanProvisioner(
                provisioning: plane.provisioning, control: plane.toolboxControl, heartbeatGrace: plane.heartbeatInterval * 3, interval: .seconds(1),
                logger: Logger(label: "agentbox.digitalocean")
            ).run()
        }
        defer { provisioner.cancel() }
        var server = HTTPServer(
            plane: plane, host: host, port: port, logger: Logger(label: "agentbox"),
            operations: OperatorSettings(dockerSocket: docker.path, metrics: metrics))
        server.identity = identity
        try await server.run()
    }

    /// The agent binary's absolute path: an executable file that exists.
    private static func agentBinary(_ path: String) throws -> String {
        guard !path.isEmpty else { throw ValidationError("--agent-binary needs the path of an agentbox binary") }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
            throw ValidationError("--agent-binary \(path): no such file")
        }
        guard !isDirectory.boolValue, FileManager.default.isExecutableFile(atPath: absolute) else {
            throw ValidationError("--agent-binary \(path) is not an executable file (chmod +x it, or name the agentbox binary itself)")
        }
        return absolute
    }

    /// A number of seconds from environment variable `name`.
    private static func number(_ text: String, _ name: String) throws -> Double {
        guard let seconds = Double(text) else { throw ValidationError("\(name) '\(text)' is not a number of seconds") }
        return seconds
    }

    /// A public URL: http or https with a host, no path beyond `/`.
    private static func publicURL(_ text: String) throws -> String {
        guard let url = URLComponents(string: text), ["http", "https"].contains(url.scheme ?? ""), let host = url.host, !host.isEmpty,
            url.path.isEmpty || url.path == "/", url.query == nil
        else {
            throw ValidationError("--public-url must look like https://agentbox.example.com:8420 (a scheme, a host, an optional port); not '\(text)'")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    private static func parseSeconds(_ text: String) throws -> Int {
        guard let seconds = Int(text) else { throw ValidationError("AGENTBOX_ENROLLMENT_TIMEOUT '\(text)' is not a number of seconds") }
        return seconds
    }

    private static func parsePort(_ text: String) throws -> Int {
        guard let port = Int(text) else { throw ValidationError("AGENTBOX_PORT '\(text)' is not a port number") }
        return port
    }
}

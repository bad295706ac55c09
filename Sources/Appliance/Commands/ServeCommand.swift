import ArgumentParser
import Foundation
import Logging
import Services

/// `agentbox serve`: the long-running appliance.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the appliance: open or create the data directory, migrate, unseal the vault and serve HTTP.",
        discussion: "Stops cleanly on SIGTERM or SIGINT. Only one process may use a data directory at a time.")

    @OptionGroup var data: DataOptions

    @Option(help: ArgumentHelp("Address to listen on (env AGENTBOX_HOST; default 127.0.0.1).", valueName: "address"))
    var host: String?

    @Option(help: ArgumentHelp("Port to listen on (env AGENTBOX_PORT; default 8420; 0 picks a free port).", valueName: "port"))
    var port: Int?

    @Option(help: ArgumentHelp(
        "Host ports leased to local tool instances (env AGENTBOX_PORT_RANGE; default 29000-29999).", valueName: "low-high"))
    var portRange: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let host = host ?? environment["AGENTBOX_HOST"] ?? "127.0.0.1"
        let port = try port ?? environment["AGENTBOX_PORT"].map(Self.parsePort) ?? 8420
        guard (0...65535).contains(port) else {
            throw ValidationError("port \(port) is out of range; use 1-65535, or 0 for any free port")
        }
        let portRange = try (portRange ?? environment["AGENTBOX_PORT_RANGE"]).map(PortLeases.parseRange) ?? PortLeases.defaultRange
        let backend = try await data.openBackend(.create, label: "agentbox")
        let plane = ControlPlane(backend: backend, portRange: portRange)
        try await HTTPServer(plane: plane, host: host, port: port, logger: Logger(label: "agentbox")).run()
    }

    private static func parsePort(_ text: String) throws -> Int {
        guard let port = Int(text) else { throw ValidationError("AGENTBOX_PORT '\(text)' is not a port number") }
        return port
    }
}

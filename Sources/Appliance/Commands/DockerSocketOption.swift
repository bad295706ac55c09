import ArgumentParser
import Foundation
import Services

/// `--docker-socket`: where the Docker engine listens, for `serve` (readiness) and `doctor`.
struct DockerSocketOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Unix socket of the Docker engine (env AGENTBOX_DOCKER_SOCKET; default \(DockerProbe.defaultSocketPath)).",
        valueName: "path"))
    var dockerSocket: String?

    /// The socket chosen by flag, environment or default.
    var path: String {
        dockerSocket ?? ProcessInfo.processInfo.environment["AGENTBOX_DOCKER_SOCKET"] ?? DockerProbe.defaultSocketPath
    }
}

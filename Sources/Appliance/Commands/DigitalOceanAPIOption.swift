import ArgumentParser
import DigitalOcean
import Foundation

/// `--digitalocean-api`: the DigitalOcean API the appliance talks to, for `serve` and `doctor`.
struct DigitalOceanAPIOption: ParsableArguments {
    @Option(name: .customLong("digitalocean-api"), help: ArgumentHelp(
        "The DigitalOcean API (env AGENTBOX_DIGITALOCEAN_API; default \(DigitalOceanClient.defaultBaseURL)); plain http only on loopback, e.g. the stand-in agentbox-do-sim.",
        valueName: "url"))
    var url: String?

    /// The URL chosen by flag, environment or default: https, or http to a loopback address (a stand-in on this machine).
    func resolved() throws -> String {
        let text = url ?? ProcessInfo.processInfo.environment["AGENTBOX_DIGITALOCEAN_API"] ?? DigitalOceanClient.defaultBaseURL
        guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty,
            components.scheme == "https" || (components.scheme == "http" && ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host))
        else {
            throw ValidationError("--digitalocean-api must be an https URL, or http://127.0.0.1:PORT for a stand-in on this machine; not '\(text)'")
        }
        return text
    }
}

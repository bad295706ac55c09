import Foundation
import Logging
import Services

/// Drives DigitalOcean toolboxes through their lifecycle inside `serve`: every `interval`, one step of each
/// toolbox that has one (``DigitalOceanProvisioning``), and the check that turns toolboxes whose droplet went
/// silent for longer than `heartbeatGrace` unreachable. Steps are resumable, so a restart carries on.
struct DigitalOceanProvisioner: Sendable {
    let provisioning: DigitalOceanProvisioning
    let control: ToolboxControl
    let heartbeatGrace: Duration
    let interval: Duration
    let logger: Logger

    /// Runs until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            do {
                for id in try await provisioning.pending() {
                    do {
                        try await provisioning.advance(id)
                    } catch {
                        logger.error("a step of toolbox \(id.uuidString.lowercased()) failed: \(error)")
                    }
                }
            } catch {
                logger.error("listing the DigitalOcean toolboxes to provision failed: \(error)")
            }
            do {
                for id in try await control.markSilentToolboxesUnreachable(grace: heartbeatGrace) {
                    logger.warning("toolbox \(id.uuidString.lowercased()) is unreachable: its droplet sent no heartbeat for \(heartbeatGrace)")
                }
            } catch {
                logger.error("checking droplets' heartbeats failed: \(error)")
            }
            try? await Task.sleep(for: interval)
        }
    }
}

import Foundation

/// Crash points for the crash-recovery tests, shared by the backend and the DTMA: when `AGENTBOX_FAILPOINT` names
/// a point, the process kills itself with SIGKILL on reaching it, exactly as `kill -9` would at that moment.
/// Unset, it does nothing.
public enum Failpoint: String, Sendable {
    /// The container exists, but no status has been written for it yet.
    case afterContainerCreate = "after-container-create"
    /// DigitalOcean accepted the droplet, but its id has not been written to the toolbox yet.
    case afterDropletCreate = "after-droplet-create"
    /// The droplets of a deprovisioned toolbox are being deleted, and the toolbox is not archived yet.
    case afterDropletDelete = "after-droplet-delete"

    /// Dies here if the environment asks for this point.
    public func reach() {
        guard ProcessInfo.processInfo.environment["AGENTBOX_FAILPOINT"] == rawValue else { return }
        kill(getpid(), SIGKILL)
    }
}

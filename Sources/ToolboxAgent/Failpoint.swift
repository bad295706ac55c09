import Foundation

/// Crash points for the crash-recovery tests: when `AGENTBOX_FAILPOINT` names a point, the process kills
/// itself with SIGKILL on reaching it, exactly as `kill -9` would at that moment. Unset, it does nothing.
enum Failpoint: String {
    /// The container exists, but no status has been written for it yet.
    case afterContainerCreate = "after-container-create"

    /// Dies here if the environment asks for this point.
    func reach() {
        guard ProcessInfo.processInfo.environment["AGENTBOX_FAILPOINT"] == rawValue else { return }
        kill(getpid(), SIGKILL)
    }
}

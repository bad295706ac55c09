import Storage

/// The lifecycle of a toolbox (`account_tool_environments.status`): which status may follow which.
///
/// ```
/// pending_provision -> provisioning -> active -> pending_deprovision -> deprovisioning -> archived
///        |                  |            |              ^                    |
///        |                  v            v              |                    v
///        +-------------->  error  <------+--------------+------------------ error
/// ```
/// pending_provision, provisioning and error may also go to pending_deprovision: the user gives up on them.
/// A toolbox is created `active` (local) or `pending_provision` (remote); `archived` is final.
public enum ToolboxStatusMachine {
    /// Every allowed change, from each status to the statuses that may follow it.
    public static let transitions: [ToolboxStatus: Set<ToolboxStatus>] = [
        // A remote toolbox is being asked for: the droplet request starts, fails, or the user gives up.
        .pendingProvision: [.provisioning, .error, .pendingDeprovision],
        // The droplet is booting: its agent enrolls and beats, a time-out turns it to error, or the user gives up.
        .provisioning: [.active, .error, .pendingDeprovision],
        // Running: deprovision on request; error when its host fails for good.
        .active: [.pendingDeprovision, .error],
        // A failed toolbox is provisioned again or deprovisioned.
        .error: [.provisioning, .pendingDeprovision],
        .pendingDeprovision: [.deprovisioning],
        // The droplet is gone (verified), or deleting it failed.
        .deprovisioning: [.archived, .error],
        .archived: [],
    ]

    /// Whether a toolbox may go from `from` to `to`.
    public static func allows(from: ToolboxStatus, to: ToolboxStatus) -> Bool {
        transitions[from]?.contains(to) ?? false
    }

    /// Checks a change; throws `invalidState` naming both statuses when it is not allowed.
    public static func transition(from: ToolboxStatus, to: ToolboxStatus) throws {
        guard allows(from: from, to: to) else {
            throw ServiceError(.invalidState, "a toolbox cannot go from \(from.rawValue) to \(to.rawValue)")
        }
    }

    /// Whether a toolbox in `status` may take new instances: not once its deprovisioning has begun.
    public static func acceptsInstances(_ status: ToolboxStatus) -> Bool {
        ![.pendingDeprovision, .deprovisioning, .archived].contains(status)
    }
}

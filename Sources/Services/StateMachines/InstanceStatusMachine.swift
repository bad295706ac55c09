import Storage

/// The lifecycle of a tool instance (`account_tool_instances.status_on_toolbox`): which status may follow which,
/// and what a user's start, stop and restart ask for.
///
/// ```
/// pending_deploy -> deploying -> running <-> stopped
///       ^              |           |           |
///       |              v           v           v
///       +--(retry)-- error <----- (crash)    pending_delete -> deleting -> row removed
/// ```
/// Every status but `pending_delete` and `deleting` may go to `pending_delete`; a delete that fails on the host
/// (`deleting -> error`) is retried from `error`.
public enum InstanceStatusMachine {
    /// Every allowed change, from each status to the statuses that may follow it.
    public static let transitions: [InstanceStatus: Set<InstanceStatus>] = [
        .pendingDeploy: [.deploying, .pendingDelete],
        // Image pulled, port leased, container started; or any of that failed.
        .deploying: [.running, .error, .pendingDelete],
        // Stopped on request, or the container died.
        .running: [.stopped, .error, .pendingDelete],
        // Started again on request, or could not be.
        .stopped: [.running, .error, .pendingDelete],
        // Retried (deployed again) or deleted.
        .error: [.pendingDeploy, .pendingDelete],
        .pendingDelete: [.deleting],
        // The container is removed (then the row is), or removing it failed.
        .deleting: [.error],
    ]

    /// Whether an instance may go from `from` to `to`.
    public static func allows(from: InstanceStatus, to: InstanceStatus) -> Bool {
        transitions[from]?.contains(to) ?? false
    }

    /// Checks a change; throws `invalidState` naming both statuses when it is not allowed.
    public static func transition(from: InstanceStatus, to: InstanceStatus) throws {
        guard allows(from: from, to: to) else {
            throw ServiceError(.invalidState, "an instance cannot go from \(from.rawValue) to \(to.rawValue)")
        }
    }

    /// Whether the row of an instance in `status` may be removed: only once its container is being deleted.
    public static func allowsRemoval(from status: InstanceStatus) -> Bool {
        status == .deleting
    }

    /// Checks that an instance in `status` may be removed; throws `invalidState` otherwise.
    public static func remove(from status: InstanceStatus) throws {
        guard allowsRemoval(from: status) else {
            throw ServiceError(.invalidState, "an instance cannot go from \(status.rawValue) to removed; it must be deleting first")
        }
    }

    /// What a user may ask of an instance. A request is not a status: each maps to a transition, or to none.
    public enum Request: String, Sendable, CaseIterable {
        case start
        case stop
        case restart

        /// The status the request aims at, named in refusals.
        var goal: InstanceStatus {
            switch self {
            case .start, .restart: .running
            case .stop: .stopped
            }
        }
    }

    /// The status an instance in `status` moves to when a user makes `request`; nil when it stays as it is
    /// (a restart of a running instance is carried out by its toolbox and recorded in the audit log).
    /// Throws `invalidState` naming both statuses when the request does not apply, e.g. stopping a
    /// `pending_deploy` instance.
    public static func target(of request: Request, from status: InstanceStatus) throws -> InstanceStatus? {
        switch (request, status) {
        case (.start, .stopped), (.restart, .stopped): return .running
        // Starting a failed instance retries its deployment.
        case (.start, .error): return .pendingDeploy
        case (.stop, .running): return .stopped
        case (.restart, .running): return nil
        default:
            throw ServiceError(.invalidState, "an instance cannot go from \(status.rawValue) to \(request.goal.rawValue) (\(request.rawValue))")
        }
    }
}

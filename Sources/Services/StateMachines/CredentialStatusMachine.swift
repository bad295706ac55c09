import Storage

/// The lifecycle of an agent's tool credential (`agent_tool_credentials.status`): which status may follow which.
///
/// ```
///            +------------------+
///            v                  |
///  active <-----> requires_reauth
///    |  ^              |
///    |  |              |
///    v  |              v
///   error ---------> revoked  (final)
/// ```
/// - `active -> requires_reauth`: the tool rejected the credential; back to `active` once the owner re-authorises.
/// - `active | requires_reauth -> error`: the credential cannot be used (e.g. the tool reports a broken secret);
///   `error -> active` once fixed.
/// - any status but `revoked` -> `revoked`: withdrawn by its owner, or superseded by a newer credential.
/// - `revoked` is final: a revoked secret is never handed out again; store a new credential instead.
///
/// Asking for the status a credential already has changes nothing and is allowed.
public enum CredentialStatusMachine {
    /// Every allowed change, from each status to the statuses that may follow it.
    public static let transitions: [CredentialStatus: Set<CredentialStatus>] = [
        .active: [.requiresReauth, .error, .revoked],
        .requiresReauth: [.active, .error, .revoked],
        .error: [.active, .revoked],
        .revoked: [],
    ]

    /// Whether a credential may go from `from` to `to` (staying as it is always may).
    public static func allows(from: CredentialStatus, to: CredentialStatus) -> Bool {
        from == to || (transitions[from]?.contains(to) ?? false)
    }

    /// Checks a change; throws `invalidState` naming both statuses when it is not allowed.
    public static func transition(from: CredentialStatus, to: CredentialStatus) throws {
        guard allows(from: from, to: to) else {
            let hint = from == .revoked ? "; revoked is final: store a new credential instead" : ""
            throw ServiceError(.invalidState, "a credential cannot go from \(from.rawValue) to \(to.rawValue)\(hint)")
        }
    }
}

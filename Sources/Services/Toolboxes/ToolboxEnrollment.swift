import Foundation
import Storage

/// A droplet's agent trades the single-use enrollment token from its user-data for the toolbox's own token, once:
/// the enrollment token is revoked, a new toolbox token is issued (the previous one is revoked), and the toolbox
/// notes the enrollment. A used, expired or unknown enrollment token is refused and audited. Until it is used or
/// expires, the enrollment token also buys the agent package (`authorizePackage`), without being consumed.
public struct ToolboxEnrollment: Sendable {
    let database: AppDatabase
    let tokens: TokenService
    let audit: AuditLog

    /// The toolbox and its new token (shown once, to the agent) for a valid enrollment token.
    public func enroll(_ token: String) async throws -> (toolbox: AccountToolEnvironment, token: IssuedToken) {
        let now = Date()
        let outcome: Result<(AccountToolEnvironment, IssuedToken), ServiceError> = try await database.transaction { [tokens, audit] tx in
            func refuse(_ reason: String, _ message: String) throws -> Result<(AccountToolEnvironment, IssuedToken), ServiceError> {
                try audit.append(
                    AuditEvent(actor: .system, action: "toolbox.enroll", outcome: .denied, detail: ["reason": reason, "prefix": TokenFormat.displayPrefix(token)]),
                    in: tx)
                return .failure(ServiceError(.unauthenticated, message, reason: reason))
            }
            guard (try? TokenFormat.parse(token)) != nil, var record = try tx.apiToken(hash: tokens.hash(token)), record.kind == .enrollment,
                let toolboxID = record.accountToolEnvironmentID, var toolbox = try tx.fetch(AccountToolEnvironment.self, id: toolboxID)
            else { return try refuse("enrollment_token_invalid", "this is not an enrollment token of this appliance") }
            if record.revokedAt != nil { return try refuse("enrollment_token_used", "the enrollment token was used already; an enrollment token serves once") }
            if let expires = record.expiresAt, expires <= now {
                return try refuse("enrollment_token_expired", "the enrollment token expired; deprovision the toolbox and create it again")
            }
            guard toolbox.provider == .digitalocean, [.provisioning, .active].contains(toolbox.status) else {
                return try refuse("toolbox_not_enrolling", "toolbox \(toolbox.name) is \(toolbox.status.rawValue) and takes no enrollment")
            }
            record.revokedAt = now
            try tx.update(record)
            if let previous = toolbox.dtmaBearerTokenID, var old = try tx.fetch(APIToken.self, id: previous), old.revokedAt == nil {
                old.revokedAt = now
                try tx.update(old)
            }
            let issued = try tokens.issue(.toolbox(toolbox.id), name: "toolbox \(toolbox.id.text) (enrolled)", in: tx)
            toolbox.dtmaBearerTokenID = issued.record.id
            toolbox.statusDetail = "its agent enrolled; waiting for its first heartbeat"
            toolbox.updatedAt = Timestamp.now()
            try tx.update(toolbox)
            try audit.append(
                AuditEvent(
                    actor: Principal.toolbox(toolbox).auditActor, action: "toolbox.enroll", targetType: "account_tool_environment",
                    targetID: toolbox.id.text, detail: ["token_id": issued.record.id.text]), in: tx)
            return .success((toolbox, issued))
        }
        return try outcome.get()
    }

    /// How a droplet proved it may download the agent package.
    public enum PackageCredential: String, Sendable {
        case enrollmentToken = "enrollment_token"
        case toolboxToken = "toolbox_token"
    }

    /// The toolbox whose droplet may download the agent package with `token`, audited (`agent.package`) either way.
    ///
    /// A valid enrollment token (unused, unexpired, its toolbox a DigitalOcean toolbox still `provisioning`) is
    /// accepted WITHOUT being consumed, as is a toolbox token (not revoked, its toolbox a DigitalOcean toolbox
    /// `provisioning` or `active`). Refusals carry enroll's reason codes.
    public func authorizePackage(_ token: String) async throws -> (toolbox: AccountToolEnvironment, credential: PackageCredential) {
        let now = Date()
        typealias Outcome = Result<(AccountToolEnvironment, PackageCredential), ServiceError>
        let outcome: Outcome = try await database.transaction { [tokens, audit] tx in
            func refuse(_ reason: String, _ message: String, toolbox: AccountToolEnvironment? = nil) throws -> Outcome {
                try audit.append(
                    AuditEvent(
                        actor: .system, action: "agent.package", targetType: toolbox.map { _ in "account_tool_environment" }, targetID: toolbox?.id.text,
                        outcome: .denied, detail: ["reason": reason, "prefix": TokenFormat.displayPrefix(token)]),
                    in: tx)
                return .failure(ServiceError(.unauthenticated, message, reason: reason))
            }
            let invalid = "this is neither an enrollment token nor a toolbox token of this appliance"
            guard (try? TokenFormat.parse(token)) != nil, let record = try tx.apiToken(hash: tokens.hash(token)),
                record.kind == .enrollment || record.kind == .toolbox, let toolboxID = record.accountToolEnvironmentID,
                let toolbox = try tx.fetch(AccountToolEnvironment.self, id: toolboxID)
            else { return try refuse("enrollment_token_invalid", invalid) }
            let credential: PackageCredential
            if record.kind == .enrollment {
                if record.revokedAt != nil {
                    return try refuse("enrollment_token_used", "the enrollment token was used already; the enrolled agent downloads with its toolbox token", toolbox: toolbox)
                }
                if let expires = record.expiresAt, expires <= now {
                    return try refuse("enrollment_token_expired", "the enrollment token expired; deprovision the toolbox and create it again", toolbox: toolbox)
                }
                guard toolbox.provider == .digitalocean, toolbox.status == .provisioning else {
                    return try refuse(
                        "toolbox_not_enrolling", "toolbox \(toolbox.name) is \(toolbox.status.rawValue) and takes no enrollment", toolbox: toolbox)
                }
                credential = .enrollmentToken
            } else {
                if let revoked = record.revokedAt, revoked <= now { return try refuse("enrollment_token_invalid", invalid, toolbox: toolbox) }
                if let expires = record.expiresAt, expires <= now { return try refuse("enrollment_token_invalid", invalid, toolbox: toolbox) }
                guard toolbox.provider == .digitalocean, [.provisioning, .active].contains(toolbox.status) else {
                    return try refuse(
                        "toolbox_not_enrolling", "toolbox \(toolbox.name) is \(toolbox.status.rawValue); its droplet gets no agent package", toolbox: toolbox)
                }
                credential = .toolboxToken
            }
            try audit.append(
                AuditEvent(
                    actor: Principal.toolbox(toolbox).auditActor, action: "agent.package", targetType: "account_tool_environment",
                    targetID: toolbox.id.text, detail: ["artifact": "package", "via": credential.rawValue]), in: tx)
            return .success((toolbox, credential))
        }
        return try outcome.get()
    }

    /// Audits (`agent.package`) a droplet's download of the agent binary with its toolbox token.
    public func recordBinaryDownload(by toolbox: AccountToolEnvironment, release: String) async throws {
        try await database.transaction { [audit] tx in
            try audit.append(
                AuditEvent(
                    actor: Principal.toolbox(toolbox).auditActor, action: "agent.package", targetType: "account_tool_environment",
                    targetID: toolbox.id.text, detail: ["artifact": "binary", "via": PackageCredential.toolboxToken.rawValue, "version": release]), in: tx)
        }
    }
}

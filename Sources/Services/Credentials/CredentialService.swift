import Foundation
import JSONSchema
import Storage
import Vault

/// Agents' credentials for their toolbelt items: checked against the tool's secrets schema, sealed by the vault,
/// and never shown again. Only the id, the item, the type, a masked account identifier, the status and the times
/// ever leave this service; the sealed bytes stay in the database and are opened only by the credential hand-out.
///
/// Rules:
/// - `credentials` is a JSON object that must satisfy the tool's `required_secrets_schema`; violations answer 422
///   listing each by JSON pointer and rule, never quoting a value;
/// - what is sealed is the object's canonical JSON text (sorted keys, compact), copied into guarded memory and
///   sealed inside the write transaction, bound to the credential row, its agent and its toolbelt item;
/// - an item has at most one active credential: storing a new one revokes every earlier credential of the item
///   that is not revoked yet (each revocation audited as superseded, in the same transaction), and re-activating
///   an older one while another is active is a conflict (409);
/// - the status changes only as ``CredentialStatusMachine`` allows (409 `invalid_state` naming both statuses);
/// - the account identifier is masked by ``AccountIdentifierMask`` before it is stored; nothing is derived from the secret.
public struct CredentialService: Sendable {
    let database: AppDatabase
    let sealing: CredentialSealing
    let audit: AuditLog

    public init(database: AppDatabase, vault: Vault, audit: AuditLog) {
        self.database = database
        self.sealing = CredentialSealing(database: database, vault: vault)
        self.audit = audit
    }

    /// The longest credential type.
    public static let typeLimit = 64
    /// At most this many schema violations are listed in a refusal.
    static let violationLimit = 20

    /// Checks `credentials` against the item's tool's secrets schema, seals them and stores them as the item's
    /// active credential, revoking the credentials it supersedes.
    public func create(
        itemID: UUID, type: String, credentials: JSONValue, accountIdentifier: String?, by principal: Principal
    ) async throws -> AgentToolCredential {
        _ = try principal.requireUser()
        let type = try Self.credentialType(type)
        guard case .object = credentials else { throw ServiceError(.invalidRequest, "credentials must be a JSON object") }
        let masked = try AccountIdentifierMask.mask(accountIdentifier)
        return try await database.transaction { [audit, sealing] tx in
            let item = try ToolbeltService.visibleItem(itemID, to: principal, in: tx)
            let tool = try ToolbeltService.tool(of: item, in: tx)
            try Self.validate(credentials, against: tool)
            let now = Timestamp.now()
            var credential = AgentToolCredential(
                agentToolbeltItemID: item.id, credentialType: type, encryptedCredentials: Data(), accountIdentifier: masked, status: .active,
                createdAt: now)
            let plaintext = try Self.guarded(credentials)
            credential.encryptedCredentials = sealing.seal(plaintext, credentialID: credential.id, agentID: item.agentID, itemID: item.id)
            for var earlier in try tx.agentToolCredentials(itemID: item.id, statuses: [.active, .requiresReauth, .error]) {
                let from = earlier.status
                earlier.status = .revoked
                earlier.updatedAt = now
                try tx.update(earlier)
                try audit.append(
                    Self.event(
                        principal, "credential.revoke", earlier, agentID: item.agentID,
                        detail: ["from": from.rawValue, "to": CredentialStatus.revoked.rawValue, "reason": "superseded", "superseded_by": credential.id.text]),
                    in: tx)
            }
            let stored = try tx.insert(credential)
            try audit.append(
                Self.event(principal, "credential.create", stored, agentID: item.agentID, detail: ["credential_type": type, "tool_id": tool.id.text]), in: tx)
            return stored
        }
    }

    /// A credential the principal may see (its sealed value stays unopened).
    public func get(_ id: UUID, by principal: Principal) async throws -> AgentToolCredential {
        _ = try principal.requireUser()
        return try await database.snapshot { tx in try Self.visible(id, to: principal, in: tx).credential }
    }

    /// A page of a toolbelt item's credentials, oldest first, optionally of one status.
    public func list(itemID: UUID, status: CredentialStatus?, page: PageRequest, by principal: Principal) async throws -> Page<AgentToolCredential> {
        _ = try principal.requireUser()
        return try await database.snapshot { tx in
            let item = try ToolbeltService.visibleItem(itemID, to: principal, in: tx)
            return try tx.agentToolCredentials(itemID: item.id, status: status, page: page)
        }
    }

    /// Moves a credential to `status` as ``CredentialStatusMachine`` allows; asking for its current status changes nothing.
    public func setStatus(_ id: UUID, _ status: CredentialStatus, by principal: Principal) async throws -> AgentToolCredential {
        _ = try principal.requireUser()
        return try await database.transaction { [audit] tx in
            var (credential, item) = try Self.visible(id, to: principal, in: tx)
            let from = credential.status
            guard from != status else { return credential }
            try CredentialStatusMachine.transition(from: from, to: status)
            if status == .active, let other = try tx.agentToolCredentials(itemID: item.id, statuses: [.active]).first(where: { $0.id != credential.id }) {
                throw ServiceError(
                    .conflict,
                    "toolbelt item \(item.id.text) already has an active credential (\(other.id.text)); revoke it first, an item has one active credential at most")
            }
            credential.status = status
            credential.updatedAt = Timestamp.now()
            try tx.update(credential)
            try audit.append(
                Self.event(principal, "credential.status", credential, agentID: item.agentID, detail: ["from": from.rawValue, "to": status.rawValue]), in: tx)
            return credential
        }
    }

    /// Deletes a credential and its sealed value.
    public func delete(_ id: UUID, by principal: Principal) async throws {
        _ = try principal.requireUser()
        try await database.transaction { [audit] tx in
            let (credential, item) = try Self.visible(id, to: principal, in: tx)
            try tx.delete(AgentToolCredential.self, id: credential.id)
            try audit.append(
                Self.event(principal, "credential.delete", credential, agentID: item.agentID, detail: ["status": credential.status.rawValue]), in: tx)
        }
    }

    // MARK: - Rules

    /// A credential (with its toolbelt item) whose agent the principal may see, or "not found" exactly as for a missing one.
    static func visible(_ id: UUID, to principal: Principal, in tx: Transaction) throws -> (credential: AgentToolCredential, item: AgentToolbeltItem) {
        guard let credential = try tx.fetch(AgentToolCredential.self, id: id),
            let item = try tx.fetch(AgentToolbeltItem.self, id: credential.agentToolbeltItemID),
            let agent = try tx.fetch(Agent.self, id: item.agentID), principal.owns(agent.userID)
        else {
            throw ServiceError(.notFound, "no credential has id \(id.text)")
        }
        return (credential, item)
    }

    /// A credential type such as `api_key` or `oauth2`: a lowercase letter, then up to 63 of a-z, 0-9, `_`, `.`, `-`.
    static func credentialType(_ type: String) throws -> String {
        let scalars = type.unicodeScalars
        guard let first = scalars.first, ("a"..."z").contains(first), scalars.count <= typeLimit,
            scalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0) })
        else {
            throw ServiceError(
                .invalidRequest, "credential_type must start with a lowercase letter and use only a-z, 0-9, '_', '.' or '-' (at most \(typeLimit)), e.g. api_key")
        }
        return type
    }

    /// Checks `credentials` against the tool's secrets schema; the refusal lists violations by pointer and rule, never values.
    static func validate(_ credentials: JSONValue, against tool: ToolCatalogEntry) throws {
        let schema: JSONSchema
        do {
            schema = try JSONSchema(parsing: tool.requiredSecretsSchema)
        } catch {
            throw ServiceError(.unprocessable, "the secrets schema of tool \(tool.name) is not one agentbox can check (\(error.message)); an admin must fix the catalog entry")
        }
        let violations = schema.validate(credentials)
        guard !violations.isEmpty else { return }
        var listed = violations.prefix(violationLimit).map(\.description)
        if violations.count > violationLimit { listed.append("and \(violations.count - violationLimit) more") }
        throw ServiceError(
            .unprocessable, "credentials do not match the secrets schema of tool \(tool.name): \(listed.joined(separator: "; "))")
    }

    /// The canonical JSON text of the credentials, in guarded memory for the vault.
    static func guarded(_ credentials: JSONValue) throws -> SecureBytes {
        var text = credentials.jsonText
        return try text.withUTF8 { try SecureBytes(copying: UnsafeRawBufferPointer($0)) }
    }

    private static func event(
        _ principal: Principal, _ action: String, _ credential: AgentToolCredential, agentID: UUID, detail: [String: String]
    ) -> AuditEvent {
        AuditEvent(
            actor: principal.auditActor, action: action, targetType: "agent_tool_credential", targetID: credential.id.text,
            detail: detail.merging(["agent_id": agentID.text, "toolbelt_item_id": credential.agentToolbeltItemID.text]) { current, _ in current })
    }
}

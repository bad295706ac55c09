import Foundation
import Storage
import Vault

/// The backend's credential hand-out (the original `get-agent-tool-credentials`): a DTMA, authenticated by its
/// toolbox token, redeems a call ticket for the credentials of the agent that made the call.
///
/// The rules are checked in the order SECURITY.md gives, and the first that fails denies with its own reason:
/// toolbox token (`toolbox_token_required`), ticket (`ticket_invalid`, `ticket_used`, `ticket_expired`), instance on
/// that toolbox (`instance_not_on_toolbox`), the agent's access to the toolbox (`toolbox_access_denied`), its
/// toolbelt item for the instance (`toolbelt_item_missing`, `toolbelt_item_inactive`), the capability (`capability_unknown`
/// when the tool has no such capability, `capability_denied` unless a permission allows it; a denying one wins), and
/// an active credential (`credential_missing`, `credential_revoked`, `credential_requires_reauth`, `credential_error`).
/// Every hand-out and every denial is audited in the transaction that decides it: no audit record, no credentials.
public struct CredentialHandout: Sendable {
    let database: AppDatabase
    let vault: Vault
    let audit: AuditLog
    let tickets: CallTickets

    public init(database: AppDatabase, vault: Vault, audit: AuditLog, tickets: CallTickets) {
        self.database = database
        self.vault = vault
        self.audit = audit
        self.tickets = tickets
    }

    /// What the DTMA gets: the call's binding and the agent's credential, opened.
    public struct Grant: Sendable {
        public var binding: CallTickets.Binding
        public var credentialID: UUID
        public var credentialType: String
        /// The credential's JSON object, in guarded memory; the caller wipes it by letting it go.
        public var secret: SecureBytes
    }

    /// Redeems `ticket` for `principal`, which must be the toolbox that hosts the call's instance.
    public func redeem(_ ticket: String, by principal: Principal) async throws -> Grant {
        guard case .toolbox(let toolbox) = principal else {
            throw ServiceError(.forbidden, "only a toolbox's DTMA, with its toolbox token, may redeem call tickets", reason: "toolbox_token_required")
        }
        let decision: Decision = try await database.transaction { [audit, vault, tickets] tx in
            var binding: CallTickets.Binding?
            let decision: Decision
            do {
                // The instance is checked before the ticket is used up: one shown by a toolbox its instance is not on
                // is refused and stays live, so no other owner's droplet can end the call it was minted for.
                binding = tickets.pending(ticket)
                let instance = try binding.map { try Self.instance(of: $0, on: toolbox, in: tx) }
                let redeemed = try tickets.redeem(ticket)
                binding = redeemed
                let credential = try Self.rules(redeemed, instance: instance ?? Self.instance(of: redeemed, on: toolbox, in: tx), toolbox: toolbox, in: tx)
                let context = CredentialSealing.context(
                    credentialID: credential.id, agentID: redeemed.agentID, itemID: credential.agentToolbeltItemID)
                let secret = try vault.open(Array(credential.encryptedCredentials), for: context)
                decision = .granted(Grant(binding: redeemed, credentialID: credential.id, credentialType: credential.credentialType, secret: secret))
            } catch let error as ServiceError {
                decision = .denied(error)
            }
            try audit.append(Self.event(decision, binding: binding, toolbox: toolbox), in: tx)
            return decision
        }
        switch decision {
        case .granted(let grant): return grant
        case .denied(let error): throw error
        }
    }

    /// Redeems `ticket` for the in-process DTMA of local toolbox `toolboxID`, which holds no token: the same rules,
    /// with the toolbox's own row as the caller.
    public func redeem(_ ticket: String, localToolbox toolboxID: UUID) async throws -> Grant {
        guard let toolbox = try await database.fetchAccountToolEnvironment(id: toolboxID), toolbox.provider == .local else {
            throw ServiceError(.forbidden, "only a local toolbox's DTMA redeems tickets in-process", reason: "toolbox_token_required")
        }
        return try await redeem(ticket, by: .toolbox(toolbox))
    }

    private enum Decision: Sendable {
        case granted(Grant)
        case denied(ServiceError)
    }

    /// The rules after the ticket, in order; the credential to hand out when all hold.
    static func check(_ binding: CallTickets.Binding, toolbox: AccountToolEnvironment, in tx: Transaction) throws -> AgentToolCredential {
        try rules(binding, instance: instance(of: binding, on: toolbox, in: tx), toolbox: toolbox, in: tx)
    }

    /// The call's instance, when it is on `toolbox`.
    private static func instance(of binding: CallTickets.Binding, on toolbox: AccountToolEnvironment, in tx: Transaction) throws -> AccountToolInstance {
        guard let instance = try tx.fetch(AccountToolInstance.self, id: binding.instanceID), instance.accountToolEnvironmentID == toolbox.id else {
            throw ServiceError(.forbidden, "the ticket's tool instance is not on this toolbox", reason: "instance_not_on_toolbox")
        }
        return instance
    }

    /// The rules after the instance's, in order.
    private static func rules(
        _ binding: CallTickets.Binding, instance: AccountToolInstance, toolbox: AccountToolEnvironment, in tx: Transaction
    ) throws -> AgentToolCredential {
        func deny(_ reason: String, _ message: String) -> ServiceError { ServiceError(.forbidden, message, reason: reason) }
        guard try tx.agentToolboxAccess(agentID: binding.agentID, toolboxID: toolbox.id) != nil else {
            throw deny("toolbox_access_denied", "the calling agent has no access to this toolbox")
        }
        guard let item = try tx.agentToolbeltItem(agentID: binding.agentID, instanceID: instance.id) else {
            throw deny("toolbelt_item_missing", "the calling agent has no toolbelt item for this tool instance")
        }
        guard item.isActiveForAgent else {
            throw deny("toolbelt_item_inactive", "the calling agent's toolbelt item for this tool instance is switched off")
        }
        let tool = try ToolbeltService.tool(of: item, in: tx)
        guard ToolbeltService.capabilityNames(of: tool).contains(binding.capability) else {
            throw deny("capability_unknown", "tool \(tool.name) has no capability \(ToolbeltService.quoted(binding.capability))")
        }
        guard try tx.agentToolCapabilityPermission(itemID: item.id, capability: binding.capability)?.isAllowed == true else {
            throw deny("capability_denied", "the calling agent may not use capability \(ToolbeltService.quoted(binding.capability)) of tool \(tool.name)")
        }
        guard let credential = try tx.newestAgentToolCredential(itemID: item.id) else {
            throw deny("credential_missing", "the calling agent has stored no credentials for this tool")
        }
        switch credential.status {
        case .active: return credential
        case .revoked: throw deny("credential_revoked", "the calling agent's credential for this tool was revoked")
        case .requiresReauth: throw deny("credential_requires_reauth", "the tool rejected the calling agent's credential; it must be stored again")
        case .error: throw deny("credential_error", "the calling agent's credential for this tool is in error")
        }
    }

    /// The audit record of a hand-out or a denial: by the toolbox, about the agent's call.
    private static func event(_ decision: Decision, binding: CallTickets.Binding?, toolbox: AccountToolEnvironment) -> AuditEvent {
        var detail = ["toolbox_id": toolbox.id.uuidString.lowercased()]
        if let binding {
            detail["agent_id"] = binding.agentID.uuidString.lowercased()
            detail["capability"] = binding.capability
            detail["request_id"] = binding.requestID
        }
        let outcome: AuditOutcome
        switch decision {
        case .granted(let grant):
            outcome = .ok
            detail["credential_id"] = grant.credentialID.uuidString.lowercased()
        case .denied(let error):
            outcome = .denied
            detail["rule"] = error.reason ?? error.code.description
        }
        return AuditEvent(
            actor: Principal.toolbox(toolbox).auditActor, action: "credential.handout", targetType: binding.map { _ in "account_tool_instance" },
            targetID: binding?.instanceID.uuidString.lowercased(), outcome: outcome, detail: detail)
    }
}

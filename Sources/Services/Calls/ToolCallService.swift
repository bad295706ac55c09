import Foundation
import JSONSchema
import Storage
import Synchronization
import ToolboxProtocol
import Vault

/// Carries accepted tool calls to the DTMA of one kind of toolbox: in-process for local toolboxes, over the
/// call-home channel for droplets. The execute route does not depend on where the toolbox is.
public protocol ToolCallCarrier: Sendable {
    func carry(_ call: ToolCall, toolboxID: UUID) async throws(ToolCallError) -> ToolAnswer
}

/// An agent's tool call, from its token to the tool's answer (flow 5 of ARCHITECTURE.md).
///
/// The appliance checks the agent's rights with the hand-out's own rules (so a call is denied with the code the
/// hand-out would give), checks the input against the capability's input schema, mints a per-call ticket and
/// hands the call to the DTMA of the instance's toolbox. The DTMA redeems the ticket at ``CredentialHandout``,
/// which checks everything again. Afterwards the call's outcome and the tool's verdict on the credentials are
/// written in one transaction: a rejected credential turns `requires_reauth`, a refreshed one is sealed again.
public final class ToolCallService: Sendable {
    let database: AppDatabase
    let vault: Vault
    let audit: AuditLog
    let tickets: CallTickets
    private let carriers = Mutex<[ToolboxProvider: any ToolCallCarrier]>([:])

    /// Bounds the wait for a DTMA beyond the tool's own time-out (the DTMA cuts the tool off first).
    static let carryMargin: Duration = .seconds(5)

    init(database: AppDatabase, vault: Vault, audit: AuditLog, tickets: CallTickets) {
        self.database = database
        self.vault = vault
        self.audit = audit
        self.tickets = tickets
    }

    /// Sends the calls for toolboxes of `provider` through `carrier` from now on.
    public func attach(_ carrier: any ToolCallCarrier, for provider: ToolboxProvider) {
        carriers.withLock { $0[provider] = carrier }
    }

    /// What a call needs after it was accepted.
    struct Accepted: Sendable {
        var call: ToolCall
        let toolbox: AccountToolEnvironment
        let item: AgentToolbeltItem
        let tool: ToolCatalogEntry
    }

    /// Runs `capability` of toolbelt item `itemID` with `input` for the calling agent; the tool's answer.
    public func execute(itemID: UUID, capability: String, input: JSONValue, requestID: String, by principal: Principal) async throws -> ToolAnswer {
        guard CapabilityMap.isValidName(capability) else {
            throw ServiceError(
                .invalidRequest, "capability must be a capability name: a lowercase letter, then a-z, 0-9, '_', '.' or '-' (at most 64)")
        }
        guard case .agent(let agent) = principal else {
            let error = ServiceError(.forbidden, "only an agent, with its agent token, calls tools", reason: "agent_token_required")
            try await database.transaction { [audit] tx in
                try audit.append(
                    AuditEvent(
                        actor: principal.auditActor, action: "tool.call", targetType: "agent_toolbelt_item", targetID: itemID.text, outcome: .denied,
                        detail: ["capability": capability, "request_id": requestID, "rule": "agent_token_required"]), in: tx)
            }
            throw error
        }
        let accepted = try await accept(itemID: itemID, capability: capability, input: input, requestID: requestID, agent: agent)
        let carrier = carriers.withLock { $0[accepted.toolbox.provider] }
        let outcome: Result<ToolAnswer, ToolCallError>
        if let carrier {
            outcome = await Self.carry(accepted.call, toolboxID: accepted.toolbox.id, through: carrier)
        } else {
            outcome = .failure(
                ToolCallError(.unavailable, "toolbox_unavailable", "no DTMA serves \(accepted.toolbox.provider.rawValue) toolboxes in this appliance now"))
        }
        try await settle(accepted, agent: agent, outcome: outcome)
        switch outcome {
        case .success(let answer): return answer
        case .failure(let error): throw Self.serviceError(error)
        }
    }

    /// The checks, then the call's ticket; a denial is audited, with the rule, before it is thrown.
    private func accept(itemID: UUID, capability: String, input: JSONValue, requestID: String, agent: Agent) async throws -> Accepted {
        let checked: Result<Accepted, ServiceError> = try await database.snapshot { tx in
            guard let item = try tx.fetch(AgentToolbeltItem.self, id: itemID), item.agentID == agent.id,
                let instance = try tx.fetch(AccountToolInstance.self, id: item.accountToolInstanceID),
                let toolbox = try tx.fetch(AccountToolEnvironment.self, id: instance.accountToolEnvironmentID)
            else {
                throw ServiceError(.notFound, "this agent has no toolbelt item with id \(itemID.uuidString.lowercased())")
            }
            let binding = CallTickets.Binding(agentID: agent.id, instanceID: instance.id, capability: capability, requestID: requestID)
            do {
                _ = try CredentialHandout.check(binding, toolbox: toolbox, in: tx)
                let tool = try ToolbeltService.tool(of: item, in: tx)
                let call = try Self.call(binding, input: input, instance: instance, tool: tool)
                return .success(Accepted(call: call, toolbox: toolbox, item: item, tool: tool))
            } catch let error as ServiceError {
                return .failure(error)
            }
        }
        switch checked {
        case .success(var accepted):
            accepted.call.ticket = tickets.mint(
                CallTickets.Binding(agentID: agent.id, instanceID: accepted.call.instanceID, capability: capability, requestID: requestID))
            return accepted
        case .failure(let error):
            try await database.transaction { [audit] tx in
                try audit.append(
                    Self.event(
                        agent: agent, itemID: itemID, capability: capability, requestID: requestID, outcome: .denied,
                        detail: ["rule": error.reason ?? error.code.description]), in: tx)
            }
            throw error
        }
    }

    /// The call for the DTMA, once the rights hold: the input fits, the instance runs; an MCP tool's call says which
    /// headers carry the credentials.
    private static func call(_ binding: CallTickets.Binding, input: JSONValue, instance: AccountToolInstance, tool: ToolCatalogEntry) throws -> ToolCall {
        if let map = try? CapabilityMap(JSONValue(parsing: tool.requiredCapabilitiesSchema)), let schema = map.capabilities[binding.capability]?.inputSchema {
            let violations = schema.validate(input)
            if !violations.isEmpty {
                var listed = violations.prefix(CredentialService.violationLimit).map(\.description)
                if violations.count > listed.count { listed.append("and \(violations.count - listed.count) more") }
                throw ServiceError(
                    .unprocessable, "the input does not match the input schema of capability \(binding.capability): \(listed.joined(separator: "; "))",
                    reason: "input_invalid")
            }
        }
        guard instance.statusOnToolbox == .running, let ports = ToolboxControl.ports(of: instance) else {
            throw ServiceError(
                .conflict, "tool instance \(instance.instanceNameOnToolbox) is \(instance.statusOnToolbox.rawValue), not running; its owner can start it",
                reason: "instance_not_running")
        }
        return ToolCall(
            ticket: "", requestID: binding.requestID, agentID: binding.agentID, instanceID: instance.id, capability: binding.capability,
            input: input.jsonText, hostPort: ports.host, timeout: .milliseconds(tool.executeTimeoutMS),
            mcp: tool.protocol == .mcp ? MCPCall(credentialHeaders: Self.credentialHeaders(of: tool)) : nil)
    }

    /// The headers an MCP tool's secrets schema declares for its credential fields: a property with
    /// `"x-agentbox-header": "Authorization"` (and optionally `"x-agentbox-prefix": "Bearer "`) is sent so.
    static func credentialHeaders(of tool: ToolCatalogEntry) -> [MCPCall.CredentialHeader] {
        guard case .object(let schema)? = try? JSONValue(parsing: tool.requiredSecretsSchema), case .object(let properties)? = schema["properties"] else {
            return []
        }
        return properties.keys.sorted().compactMap { field in
            guard case .object(let property)? = properties[field], case .string(let header)? = property["x-agentbox-header"] else { return nil }
            var prefix = ""
            if case .string(let text)? = property["x-agentbox-prefix"] { prefix = text }
            return MCPCall.CredentialHeader(header: header, field: field, prefix: prefix)
        }
    }

    /// Hands the call over, bounded in time even if the DTMA's transport hangs.
    private static func carry(_ call: ToolCall, toolboxID: UUID, through carrier: any ToolCallCarrier) async -> Result<ToolAnswer, ToolCallError> {
        await withTaskGroup(of: Result<ToolAnswer, ToolCallError>?.self) { group in
            group.addTask {
                do throws(ToolCallError) {
                    return .success(try await carrier.carry(call, toolboxID: toolboxID))
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: call.timeout + carryMargin)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(ToolCallError(.timedOut, "toolbox_timeout", "the toolbox's DTMA did not answer in time"))
        }
    }
}

extension ToolCallService {
    /// Records the call's outcome and applies the tool's verdict on the credentials, in one transaction.
    private func settle(_ accepted: Accepted, agent: Agent, outcome: Result<ToolAnswer, ToolCallError>) async throws {
        let call = accepted.call
        try await database.transaction { [audit, vault] tx in
            var detail: [String: String] = [:]
            let result: AuditOutcome
            switch outcome {
            case .success(let answer):
                result = .ok
                detail["tool_status"] = String(answer.status)
                detail["duration_ms"] = String(answer.duration.wholeMilliseconds)
                if let report = answer.credentialReport {
                    detail["credentials"] = try Self.apply(report, item: accepted.item, tool: accepted.tool, toolbox: accepted.toolbox, vault: vault, audit: audit, in: tx)
                }
            case .failure(let error):
                result = error.kind == .denied ? .denied : .error
                detail["rule"] = error.code
            }
            try audit.append(
                Self.event(agent: agent, itemID: accepted.item.id, capability: call.capability, requestID: call.requestID, outcome: result, detail: detail),
                in: tx)
        }
    }

    /// A tool's verdict on the credential it was given, applied when that credential is still the item's; what happened.
    private static func apply(
        _ report: CredentialReport, item: AgentToolbeltItem, tool: ToolCatalogEntry, toolbox: AccountToolEnvironment, vault: Vault, audit: AuditLog,
        in tx: Transaction
    ) throws -> String {
        guard var credential = try tx.fetch(AgentToolCredential.self, id: report.credentialID), credential.agentToolbeltItemID == item.id,
            credential.status == .active
        else { return "ignored: the credential is no longer the item's active one" }
        let now = Timestamp.now()
        let action: String
        var detail = ["agent_id": item.agentID.text, "toolbelt_item_id": item.id.text]
        switch report.verdict {
        case .rejected(let reason):
            try CredentialStatusMachine.transition(from: credential.status, to: .requiresReauth)
            credential.status = .requiresReauth
            action = "credential.rejected_by_tool"
            detail["reason"] = reason
        case .refreshed(let secret):
            let value = try secret.withUnsafeBytes { try JSONValue(parsing: $0) }
            do {
                try CredentialService.validate(value, against: tool)
            } catch let error as ServiceError {
                try audit.append(event(toolbox, "credential.refresh_refused", credential, detail: detail.merging(["reason": error.message]) { a, _ in a }), in: tx)
                return "refresh refused: the refreshed credentials do not match the tool's secrets schema"
            }
            let context = CredentialSealing.context(credentialID: credential.id, agentID: item.agentID, itemID: item.id)
            credential.encryptedCredentials = secret.withUnsafeBytes { Data(vault.seal($0, for: context)) }
            credential.lastValidatedAt = now
            action = "credential.refreshed_by_tool"
        }
        credential.updatedAt = now
        try tx.update(credential)
        try audit.append(event(toolbox, action, credential, detail: detail), in: tx)
        return action == "credential.rejected_by_tool" ? "rejected" : "refreshed"
    }

    private static func event(_ toolbox: AccountToolEnvironment, _ action: String, _ credential: AgentToolCredential, detail: [String: String]) -> AuditEvent {
        AuditEvent(actor: Principal.toolbox(toolbox).auditActor, action: action, targetType: "agent_tool_credential", targetID: credential.id.text, detail: detail)
    }

    /// The audit record of a call: by the agent, about its toolbelt item.
    static func event(
        agent: Agent, itemID: UUID, capability: String, requestID: String, outcome: AuditOutcome, detail: [String: String]
    ) -> AuditEvent {
        AuditEvent(
            actor: Principal.agent(agent).auditActor, action: "tool.call", targetType: "agent_toolbelt_item", targetID: itemID.text, outcome: outcome,
            detail: detail.merging(["capability": capability, "request_id": requestID]) { current, _ in current })
    }

    /// A DTMA's failure as the API shows it.
    static func serviceError(_ error: ToolCallError) -> ServiceError {
        let code: ServiceError.Code =
            switch error.kind {
            case .denied: .forbidden
            case .toolFailed: .badGateway
            case .timedOut: .gatewayTimeout
            case .unavailable: .unavailable
            }
        return ServiceError(code, error.message, reason: error.code)
    }
}

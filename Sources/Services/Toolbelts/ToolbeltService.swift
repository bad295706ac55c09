import Foundation
import JSONSchema
import Storage
import Synchronization

/// An agent's toolbelt: the toolboxes it may use, the tool instances on its belt (each active or not) and,
/// per item, which of the tool's capabilities it may call.
///
/// Everything here hangs from an agent and is visible to the agent's owner (admins see all); another
/// user's agent, toolbox, instance or item answers "not found" exactly like a missing one. Agent and
/// toolbox tokens may not manage toolbelts (403).
///
/// Rules, each checked inside the transaction that makes the change (and recorded with it in the audit log):
/// - access is granted to a toolbox of the agent's owner; granting it twice is a conflict (409); a toolbox
///   being deprovisioned or archived takes no new access (409 `invalid_state`);
/// - revoking access removes, in the same transaction, the agent's toolbelt items on that toolbox (with their
///   permissions and credentials), so no item is left that the agent could never use; each removal is audited
///   (`toolbelt_item.delete`, reason `toolbox_access.revoke`) and the revocation's own record lists them;
/// - an instance joins the belt only if the agent already has access to the instance's toolbox
///   (422 `unprocessable`, naming the rule and how to grant it), belongs to the agent's owner, and is not being
///   deleted (409 `invalid_state`); one item per agent and instance (409);
/// - a permission names a capability of the tool's `required_capabilities_schema` (422 listing the valid ones).
public struct ToolbeltService: Sendable {
    let database: AppDatabase
    let audit: AuditLog

    public init(database: AppDatabase, audit: AuditLog) {
        self.database = database
        self.audit = audit
    }

    // MARK: - Toolbox access

    /// Lets an agent use a toolbox of the same owner.
    @discardableResult
    public func grantAccess(agentID: UUID, toolboxID: UUID, by principal: Principal) async throws -> AgentToolboxAccess {
        _ = try principal.requireUser()
        return try await database.transaction { [audit] tx in
            let agent = try AgentService.visible(agentID, to: principal, in: tx)
            let toolbox = try Self.visibleToolbox(toolboxID, to: principal, in: tx)
            guard toolbox.userID == agent.userID else {
                throw ServiceError(
                    .unprocessable, "toolbox \(toolbox.id.text) belongs to another user than agent \(agent.id.text): an agent may only use its owner's toolboxes")
            }
            guard ![.pendingDeprovision, .deprovisioning, .archived].contains(toolbox.status) else {
                throw ServiceError(.invalidState, "toolbox \(toolbox.name) is \(toolbox.status.rawValue): it takes no new agents")
            }
            if try tx.agentToolboxAccess(agentID: agent.id, toolboxID: toolbox.id) != nil {
                throw ServiceError(.conflict, "agent \(agent.name) already has access to toolbox \(toolbox.name)")
            }
            let access = try tx.insert(AgentToolboxAccess(agentID: agent.id, accountToolEnvironmentID: toolbox.id))
            try audit.append(
                AuditEvent(
                    actor: principal.auditActor, action: "toolbox_access.grant", targetType: "agent_toolbox_access", targetID: access.id.text,
                    detail: ["agent_id": agent.id.text, "toolbox_id": toolbox.id.text, "toolbox_name": toolbox.name]), in: tx)
            return access
        }
    }

    /// The toolboxes an agent may use, oldest grant first.
    public func listAccess(agentID: UUID, page: PageRequest, by principal: Principal) async throws -> Page<AgentToolboxAccess> {
        _ = try principal.requireUser()
        return try await database.snapshot { tx in
            let agent = try AgentService.visible(agentID, to: principal, in: tx)
            return try tx.agentToolboxAccess(agentID: agent.id, page: page)
        }
    }

    /// Takes a toolbox away from an agent, with the agent's toolbelt items on it; returns the ids of the removed items.
    @discardableResult
    public func revokeAccess(agentID: UUID, toolboxID: UUID, by principal: Principal) async throws -> [UUID] {
        _ = try principal.requireUser()
        return try await database.transaction { [audit] tx in
            let agent = try AgentService.visible(agentID, to: principal, in: tx)
            guard let access = try tx.agentToolboxAccess(agentID: agent.id, toolboxID: toolboxID) else {
                throw ServiceError(.notFound, "agent \(agent.id.text) has no access to a toolbox with id \(toolboxID.text)")
            }
            let items = try tx.agentToolbeltItems(agentID: agent.id, toolboxID: toolboxID)
            for item in items {
                try tx.delete(AgentToolbeltItem.self, id: item.id)
                try audit.append(
                    Self.itemEvent(
                        principal, "toolbelt_item.delete", item,
                        detail: ["instance_id": item.accountToolInstanceID.text, "reason": "toolbox_access.revoke"]), in: tx)
            }
            try tx.delete(AgentToolboxAccess.self, id: access.id)
            try audit.append(
                AuditEvent(
                    actor: principal.auditActor, action: "toolbox_access.revoke", targetType: "agent_toolbox_access", targetID: access.id.text,
                    detail: [
                        "agent_id": agent.id.text, "toolbox_id": toolboxID.text,
                        "removed_toolbelt_item_ids": items.map(\.id.text).joined(separator: ","),
                    ]), in: tx)
            return items.map(\.id)
        }
    }

    // MARK: - Toolbelt items

    /// Puts a tool instance on an agent's toolbelt; the agent must already have access to the instance's toolbox.
    public func addItem(agentID: UUID, instanceID: UUID, isActive: Bool, by principal: Principal) async throws -> AgentToolbeltItem {
        _ = try principal.requireUser()
        return try await database.transaction { [audit] tx in
            let agent = try AgentService.visible(agentID, to: principal, in: tx)
            let (instance, toolbox) = try Self.visibleInstance(instanceID, to: principal, in: tx)
            guard toolbox.userID == agent.userID else {
                throw ServiceError(
                    .unprocessable,
                    "tool instance \(instance.id.text) belongs to another user than agent \(agent.id.text): an agent may only use its owner's instances")
            }
            guard try tx.agentToolboxAccess(agentID: agent.id, toolboxID: toolbox.id) != nil else {
                throw ServiceError(
                    .unprocessable,
                    "agent \(agent.name) has no access to toolbox \(toolbox.name), which runs tool instance \(instance.instanceNameOnToolbox); "
                        + "grant it first with POST /api/v1/agents/\(agent.id.text)/toolboxes")
            }
            guard ![.pendingDelete, .deleting].contains(instance.statusOnToolbox) else {
                throw ServiceError(
                    .invalidState, "tool instance \(instance.instanceNameOnToolbox) is \(instance.statusOnToolbox.rawValue): it takes no new agents")
            }
            if try tx.agentToolbeltItem(agentID: agent.id, instanceID: instance.id) != nil {
                throw ServiceError(.conflict, "tool instance \(instance.instanceNameOnToolbox) is already on the toolbelt of agent \(agent.name)")
            }
            let item = try tx.insert(AgentToolbeltItem(agentID: agent.id, accountToolInstanceID: instance.id, isActiveForAgent: isActive))
            try audit.append(
                Self.itemEvent(
                    principal, "toolbelt_item.add", item,
                    detail: ["instance_id": instance.id.text, "instance_name": instance.instanceNameOnToolbox, "is_active": String(isActive)]),
                in: tx)
            return item
        }
    }

    /// A toolbelt item the principal may see.
    public func getItem(_ id: UUID, by principal: Principal) async throws -> AgentToolbeltItem {
        _ = try principal.requireUser()
        return try await database.snapshot { tx in try Self.visibleItem(id, to: principal, in: tx) }
    }

    /// A page of an agent's toolbelt, oldest first, optionally only active (or inactive) items, or those of one instance.
    public func listItems(
        agentID: UUID, isActive: Bool?, instanceID: UUID?, page: PageRequest, by principal: Principal
    ) async throws -> Page<AgentToolbeltItem> {
        _ = try principal.requireUser()
        return try await database.snapshot { tx in
            let agent = try AgentService.visible(agentID, to: principal, in: tx)
            return try tx.agentToolbeltItems(agentID: agent.id, isActive: isActive, instanceID: instanceID, page: page)
        }
    }

    /// Switches a toolbelt item on or off for its agent.
    public func setItemActive(_ id: UUID, _ isActive: Bool, by principal: Principal) async throws -> AgentToolbeltItem {
        _ = try principal.requireUser()
        return try await database.transaction { [audit] tx in
            var item = try Self.visibleItem(id, to: principal, in: tx)
            guard item.isActiveForAgent != isActive else { return item }
            item.isActiveForAgent = isActive
            item.updatedAt = Timestamp.now()
            try tx.update(item)
            try audit.append(Self.itemEvent(principal, "toolbelt_item.update", item, detail: ["is_active": String(isActive)]), in: tx)
            return item
        }
    }

    /// Takes an item off its agent's toolbelt, with its permissions and credentials.
    public func deleteItem(_ id: UUID, by principal: Principal) async throws {
        _ = try principal.requireUser()
        try await database.transaction { [audit] tx in
            let item = try Self.visibleItem(id, to: principal, in: tx)
            try tx.delete(AgentToolbeltItem.self, id: item.id)
            try audit.append(Self.itemEvent(principal, "toolbelt_item.delete", item, detail: ["instance_id": item.accountToolInstanceID.text]), in: tx)
        }
    }

    // MARK: - Capability permissions

    /// Allows or denies one capability of a toolbelt item, creating or replacing its permission; `created` says which.
    public func setPermission(
        itemID: UUID, capability: String, isAllowed: Bool, by principal: Principal
    ) async throws -> (permission: AgentToolCapabilityPermission, created: Bool) {
        _ = try principal.requireUser()
        return try await database.transaction { [audit] tx in
            let item = try Self.visibleItem(itemID, to: principal, in: tx)
            try Self.requireCapability(capability, of: item, in: tx)
            let permission: AgentToolCapabilityPermission
            let created: Bool
            if var existing = try tx.agentToolCapabilityPermission(itemID: item.id, capability: capability) {
                guard existing.isAllowed != isAllowed else { return (existing, false) }
                existing.isAllowed = isAllowed
                existing.updatedAt = Timestamp.now()
                try tx.update(existing)
                (permission, created) = (existing, false)
            } else {
                permission = try tx.insert(AgentToolCapabilityPermission(agentToolbeltItemID: item.id, capabilityName: capability, isAllowed: isAllowed))
                created = true
            }
            try audit.append(
                Self.permissionEvent(principal, "capability_permission.set", permission, item: item, detail: ["is_allowed": String(isAllowed)]), in: tx)
            return (permission, created)
        }
    }

    /// A page of a toolbelt item's permissions by capability name, optionally only allows (or denies).
    public func listPermissions(
        itemID: UUID, isAllowed: Bool?, page: PageRequest, by principal: Principal
    ) async throws -> Page<AgentToolCapabilityPermission> {
        _ = try principal.requireUser()
        return try await database.snapshot { tx in
            let item = try Self.visibleItem(itemID, to: principal, in: tx)
            return try tx.agentToolCapabilityPermissions(itemID: item.id, isAllowed: isAllowed, page: page)
        }
    }

    /// Removes a toolbelt item's permission for one capability (which then falls back to being denied).
    public func deletePermission(itemID: UUID, capability: String, by principal: Principal) async throws {
        _ = try principal.requireUser()
        try await database.transaction { [audit] tx in
            let item = try Self.visibleItem(itemID, to: principal, in: tx)
            guard let permission = try tx.agentToolCapabilityPermission(itemID: item.id, capability: capability) else {
                throw ServiceError(.notFound, "toolbelt item \(item.id.text) has no permission for capability \(Self.quoted(capability))")
            }
            try tx.delete(AgentToolCapabilityPermission.self, id: permission.id)
            try audit.append(Self.permissionEvent(principal, "capability_permission.delete", permission, item: item, detail: [:]), in: tx)
        }
    }

    // MARK: - Visibility

    /// A toolbelt item whose agent the principal may see, or "not found" exactly as for a missing one.
    static func visibleItem(_ id: UUID, to principal: Principal, in tx: Transaction) throws -> AgentToolbeltItem {
        guard let item = try tx.fetch(AgentToolbeltItem.self, id: id), let agent = try tx.fetch(Agent.self, id: item.agentID),
            principal.owns(agent.userID)
        else {
            throw ServiceError(.notFound, "no toolbelt item has id \(id.text)")
        }
        return item
    }

    /// A toolbox the principal may see, or "not found" exactly as for a missing one.
    static func visibleToolbox(_ id: UUID, to principal: Principal, in tx: Transaction) throws -> AccountToolEnvironment {
        guard let toolbox = try tx.fetch(AccountToolEnvironment.self, id: id), principal.owns(toolbox.userID) else {
            throw ServiceError(.notFound, "no toolbox has id \(id.text)")
        }
        return toolbox
    }

    /// A tool instance (with its toolbox) the principal may see, or "not found" exactly as for a missing one.
    static func visibleInstance(
        _ id: UUID, to principal: Principal, in tx: Transaction
    ) throws -> (AccountToolInstance, AccountToolEnvironment) {
        guard let instance = try tx.fetch(AccountToolInstance.self, id: id),
            let toolbox = try tx.fetch(AccountToolEnvironment.self, id: instance.accountToolEnvironmentID), principal.owns(toolbox.userID)
        else {
            throw ServiceError(.notFound, "no tool instance has id \(id.text)")
        }
        return (instance, toolbox)
    }

    /// The catalog tool that a toolbelt item's instance runs.
    static func tool(of item: AgentToolbeltItem, in tx: Transaction) throws -> ToolCatalogEntry {
        guard let instance = try tx.fetch(AccountToolInstance.self, id: item.accountToolInstanceID),
            let tool = try tx.fetch(ToolCatalogEntry.self, id: instance.toolCatalogID)
        else {
            // Foreign keys make this impossible; say so plainly rather than pretend the item is missing.
            throw ServiceError(.conflict, "toolbelt item \(item.id.text) refers to a tool instance or catalog tool that no longer exists")
        }
        return tool
    }

    // MARK: - Rules

    /// Checks that `capability` is a key of the item's tool's capabilities map; 422 listing the valid ones otherwise.
    static func requireCapability(_ capability: String, of item: AgentToolbeltItem, in tx: Transaction) throws {
        let tool = try tool(of: item, in: tx)
        let names = capabilityNames(of: tool)
        guard !names.contains(capability) else { return }
        let valid = names.isEmpty ? "it has none" : "valid capabilities: \(names.sorted().joined(separator: ", "))"
        throw ServiceError(.unprocessable, "capability \(quoted(capability)) is not one of the capabilities of tool \(tool.name) (\(valid))")
    }

    /// The capability names of a tool; none if its stored map does not parse (the catalog refuses such maps).
    static func capabilityNames(of tool: ToolCatalogEntry) -> Set<String> {
        let text = tool.requiredCapabilitiesSchema
        if let names = capabilityNamesByMap.withLock({ $0[text] }) { return names }
        var names: Set<String> = []
        if let value = try? JSONValue(parsing: text), let map = try? CapabilityMap(value) { names = Set(map.capabilities.keys) }
        capabilityNamesByMap.withLock { cache in
            if cache.count >= 256 { cache.removeAll() }
            cache[text] = names
        }
        return names
    }

    /// The names of each capabilities map seen lately, by the map's text: every hand-out and tool call asks, and
    /// parsing the map each time cost more than the checks' queries.
    private static let capabilityNamesByMap = Mutex<[String: Set<String>]>([:])

    /// A capability name as a message shows it: quoted when it is plausible, described when it is not.
    static func quoted(_ capability: String) -> String {
        let plain = capability.unicodeScalars.count <= 64
            && capability.unicodeScalars.allSatisfy { $0.isASCII && !CharacterSet.controlCharacters.contains($0) && $0 != "'" }
        return plain ? "'\(capability)'" : "(a name of \(capability.unicodeScalars.count) characters that no capability has)"
    }

    // MARK: - Audit

    private static func itemEvent(_ principal: Principal, _ action: String, _ item: AgentToolbeltItem, detail: [String: String]) -> AuditEvent {
        AuditEvent(
            actor: principal.auditActor, action: action, targetType: "agent_toolbelt_item", targetID: item.id.text,
            detail: detail.merging(["agent_id": item.agentID.text]) { current, _ in current })
    }

    private static func permissionEvent(
        _ principal: Principal, _ action: String, _ permission: AgentToolCapabilityPermission, item: AgentToolbeltItem, detail: [String: String]
    ) -> AuditEvent {
        AuditEvent(
            actor: principal.auditActor, action: action, targetType: "agent_tool_capability_permission", targetID: permission.id.text,
            detail: detail.merging(["agent_id": item.agentID.text, "toolbelt_item_id": item.id.text, "capability": permission.capabilityName]) { current, _ in
                current
            })
    }
}

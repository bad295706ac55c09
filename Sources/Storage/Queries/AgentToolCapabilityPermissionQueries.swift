import Foundation
import GRDB

/// Queries of `AgentToolCapabilityPermission` rows.
extension AppDatabase {
    /// Inserts a permission; fails with `.uniqueViolation`, `.foreignKeyViolation` or `.checkViolation` when the schema refuses it.
    @discardableResult
    public func insert(_ agentToolCapabilityPermission: AgentToolCapabilityPermission) async throws -> AgentToolCapabilityPermission {
        try await insertRecord(agentToolCapabilityPermission)
    }

    /// The AgentToolCapabilityPermission with this id, or nil.
    public func fetchAgentToolCapabilityPermission(id: UUID) async throws -> AgentToolCapabilityPermission? {
        try await fetchRecord(AgentToolCapabilityPermission.self, key: id)
    }

    /// Saves every column of a permission; throws `.notFound` if it no longer exists.
    public func update(_ agentToolCapabilityPermission: AgentToolCapabilityPermission) async throws {
        try await updateRecord(agentToolCapabilityPermission)
    }

    /// Deletes a permission (and what cascades from it); throws `.notFound` if it does not exist.
    public func deleteAgentToolCapabilityPermission(id: UUID) async throws {
        try await deleteRecord(AgentToolCapabilityPermission.self, key: id)
    }

    /// The capability permissions of a toolbelt item, oldest first.
    public func fetchAgentToolCapabilityPermissions(agentToolbeltItemID: UUID) async throws -> [AgentToolCapabilityPermission] {
        try await fetchRecords(
            AgentToolCapabilityPermission.self, where: AgentToolCapabilityPermission.CodingKeys.agentToolbeltItemID, is: agentToolbeltItemID)
    }
}

/// Capability permission queries inside a transaction.
extension Transaction {
    /// The permission of a toolbelt item for one capability, or nil.
    public func agentToolCapabilityPermission(itemID: UUID, capability: String) throws -> AgentToolCapabilityPermission? {
        try fetchOne(
            AgentToolCapabilityPermission.self,
            cached: "SELECT * FROM agent_tool_capability_permissions WHERE agent_toolbelt_item_id = ? AND capability_name = ?",
            [itemID.storageText, capability])
    }

    /// A page of a toolbelt item's capability permissions, by capability name, optionally only allows or denies.
    public func agentToolCapabilityPermissions(itemID: UUID, isAllowed: Bool?, page: PageRequest) throws -> Page<AgentToolCapabilityPermission> {
        var request = AgentToolCapabilityPermission
            .filter(Column(AgentToolCapabilityPermission.CodingKeys.agentToolbeltItemID) == itemID.storageText)
            .order(Column(AgentToolCapabilityPermission.CodingKeys.capabilityName), Column(AgentToolCapabilityPermission.CodingKeys.id))
        if let isAllowed { request = request.filter(Column(AgentToolCapabilityPermission.CodingKeys.isAllowed) == isAllowed) }
        return try self.page(request, page)
    }
}

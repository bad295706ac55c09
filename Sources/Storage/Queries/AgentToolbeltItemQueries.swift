import Foundation
import GRDB

/// Queries of `AgentToolbeltItem` rows.
extension AppDatabase {
    /// Inserts a toolbelt item; fails with `.uniqueViolation`, `.foreignKeyViolation` or `.checkViolation` when the schema refuses it.
    @discardableResult
    public func insert(_ agentToolbeltItem: AgentToolbeltItem) async throws -> AgentToolbeltItem {
        try await insertRecord(agentToolbeltItem)
    }

    /// The AgentToolbeltItem with this id, or nil.
    public func fetchAgentToolbeltItem(id: UUID) async throws -> AgentToolbeltItem? {
        try await fetchRecord(AgentToolbeltItem.self, key: id)
    }

    /// Saves every column of a toolbelt item; throws `.notFound` if it no longer exists.
    public func update(_ agentToolbeltItem: AgentToolbeltItem) async throws {
        try await updateRecord(agentToolbeltItem)
    }

    /// Deletes a toolbelt item (and what cascades from it); throws `.notFound` if it does not exist.
    public func deleteAgentToolbeltItem(id: UUID) async throws {
        try await deleteRecord(AgentToolbeltItem.self, key: id)
    }

    /// The items of an agent's toolbelt, oldest first.
    public func fetchAgentToolbeltItems(agentID: UUID) async throws -> [AgentToolbeltItem] {
        try await fetchRecords(AgentToolbeltItem.self, where: AgentToolbeltItem.CodingKeys.agentID, is: agentID)
    }

    /// The toolbelt items that use a tool instance, oldest first.
    public func fetchAgentToolbeltItems(accountToolInstanceID: UUID) async throws -> [AgentToolbeltItem] {
        try await fetchRecords(AgentToolbeltItem.self, where: AgentToolbeltItem.CodingKeys.accountToolInstanceID, is: accountToolInstanceID)
    }
}

/// Toolbelt queries inside a transaction.
extension Transaction {
    /// The item of an agent's toolbelt that uses a tool instance, or nil.
    public func agentToolbeltItem(agentID: UUID, instanceID: UUID) throws -> AgentToolbeltItem? {
        try fetchOne(
            AgentToolbeltItem.self, cached: "SELECT * FROM agent_toolbelt_items WHERE agent_id = ? AND account_tool_instance_id = ?",
            [agentID.storageText, instanceID.storageText])
    }

    /// A page of an agent's toolbelt, oldest first, optionally only the (in)active items or those of one instance.
    public func agentToolbeltItems(agentID: UUID, isActive: Bool?, instanceID: UUID?, page: PageRequest) throws -> Page<AgentToolbeltItem> {
        var request = AgentToolbeltItem
            .filter(Column(AgentToolbeltItem.CodingKeys.agentID) == agentID.storageText)
            .order(Column(AgentToolbeltItem.CodingKeys.createdAt), Column(AgentToolbeltItem.CodingKeys.id))
        if let isActive { request = request.filter(Column(AgentToolbeltItem.CodingKeys.isActiveForAgent) == isActive) }
        if let instanceID { request = request.filter(Column(AgentToolbeltItem.CodingKeys.accountToolInstanceID) == instanceID.storageText) }
        return try self.page(request, page)
    }

    /// The items of an agent's toolbelt whose instances run on a toolbox, oldest first.
    public func agentToolbeltItems(agentID: UUID, toolboxID: UUID) throws -> [AgentToolbeltItem] {
        let instanceIDs = AccountToolInstance
            .select(Column(AccountToolInstance.CodingKeys.id))
            .filter(Column(AccountToolInstance.CodingKeys.accountToolEnvironmentID) == toolboxID.storageText)
        return try AgentToolbeltItem
            .filter(Column(AgentToolbeltItem.CodingKeys.agentID) == agentID.storageText)
            .filter(instanceIDs.contains(Column(AgentToolbeltItem.CodingKeys.accountToolInstanceID)))
            .order(Column(AgentToolbeltItem.CodingKeys.createdAt), Column(AgentToolbeltItem.CodingKeys.id))
            .fetchAll(db)
    }
}

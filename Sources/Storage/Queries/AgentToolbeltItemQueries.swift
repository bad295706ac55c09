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

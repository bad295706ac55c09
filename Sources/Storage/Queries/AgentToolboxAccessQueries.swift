import Foundation
import GRDB

/// Queries of `AgentToolboxAccess` rows.
extension AppDatabase {
    /// Inserts an access row; fails with `.uniqueViolation`, `.foreignKeyViolation` or `.checkViolation` when the schema refuses it.
    @discardableResult
    public func insert(_ agentToolboxAccess: AgentToolboxAccess) async throws -> AgentToolboxAccess {
        try await insertRecord(agentToolboxAccess)
    }

    /// The AgentToolboxAccess with this id, or nil.
    public func fetchAgentToolboxAccess(id: UUID) async throws -> AgentToolboxAccess? {
        try await fetchRecord(AgentToolboxAccess.self, key: id)
    }

    /// Deletes an access row (and what cascades from it); throws `.notFound` if it does not exist.
    public func deleteAgentToolboxAccess(id: UUID) async throws {
        try await deleteRecord(AgentToolboxAccess.self, key: id)
    }

    /// The toolboxes an agent may use, oldest grant first.
    public func fetchAgentToolboxAccess(agentID: UUID) async throws -> [AgentToolboxAccess] {
        try await fetchRecords(AgentToolboxAccess.self, where: AgentToolboxAccess.CodingKeys.agentID, is: agentID)
    }
}

/// Toolbox access queries inside a transaction.
extension Transaction {
    /// The access row of an agent to a toolbox, or nil.
    public func agentToolboxAccess(agentID: UUID, toolboxID: UUID) throws -> AgentToolboxAccess? {
        try fetchOne(
            AgentToolboxAccess.self, cached: "SELECT * FROM agent_toolbox_access WHERE agent_id = ? AND account_tool_environment_id = ?",
            [agentID.storageText, toolboxID.storageText])
    }

    /// A page of an agent's toolbox access rows, oldest grant first.
    public func agentToolboxAccess(agentID: UUID, page: PageRequest) throws -> Page<AgentToolboxAccess> {
        let request = AgentToolboxAccess
            .filter(Column(AgentToolboxAccess.CodingKeys.agentID) == agentID.storageText)
            .order(Column(AgentToolboxAccess.CodingKeys.grantedAt), Column(AgentToolboxAccess.CodingKeys.id))
        return try self.page(request, page)
    }
}

import Foundation
import GRDB

/// Queries of `AgentToolCredential` rows.
extension AppDatabase {
    /// Inserts a credential row; fails with `.uniqueViolation`, `.foreignKeyViolation` or `.checkViolation` when the schema refuses it.
    @discardableResult
    public func insert(_ agentToolCredential: AgentToolCredential) async throws -> AgentToolCredential {
        try await insertRecord(agentToolCredential)
    }

    /// The AgentToolCredential with this id, or nil.
    public func fetchAgentToolCredential(id: UUID) async throws -> AgentToolCredential? {
        try await fetchRecord(AgentToolCredential.self, key: id)
    }

    /// Saves every column of a credential row; throws `.notFound` if it no longer exists.
    public func update(_ agentToolCredential: AgentToolCredential) async throws {
        try await updateRecord(agentToolCredential)
    }

    /// Deletes a credential row (and what cascades from it); throws `.notFound` if it does not exist.
    public func deleteAgentToolCredential(id: UUID) async throws {
        try await deleteRecord(AgentToolCredential.self, key: id)
    }

    /// The credentials stored for a toolbelt item, oldest first.
    public func fetchAgentToolCredentials(agentToolbeltItemID: UUID) async throws -> [AgentToolCredential] {
        try await fetchRecords(AgentToolCredential.self, where: AgentToolCredential.CodingKeys.agentToolbeltItemID, is: agentToolbeltItemID)
    }
}

/// Credential queries inside a transaction (never opening the sealed value).
extension Transaction {
    /// A page of a toolbelt item's credentials, oldest first, optionally of one status.
    public func agentToolCredentials(itemID: UUID, status: CredentialStatus?, page: PageRequest) throws -> Page<AgentToolCredential> {
        var request = AgentToolCredential
            .filter(Column(AgentToolCredential.CodingKeys.agentToolbeltItemID) == itemID.storageText)
            .order(Column(AgentToolCredential.CodingKeys.createdAt), Column(AgentToolCredential.CodingKeys.id))
        if let status { request = request.filter(Column(AgentToolCredential.CodingKeys.status) == status.rawValue) }
        return try self.page(request, page)
    }

    /// A toolbelt item's newest credential, whatever its status (the one in force: a new one supersedes the earlier).
    public func newestAgentToolCredential(itemID: UUID) throws -> AgentToolCredential? {
        try fetchOne(
            AgentToolCredential.self,
            cached: "SELECT * FROM agent_tool_credentials WHERE agent_toolbelt_item_id = ? ORDER BY created_at DESC, id DESC LIMIT 1",
            [itemID.storageText])
    }

    /// A toolbelt item's credentials in any of `statuses`, oldest first.
    public func agentToolCredentials(itemID: UUID, statuses: Set<CredentialStatus>) throws -> [AgentToolCredential] {
        try AgentToolCredential
            .filter(Column(AgentToolCredential.CodingKeys.agentToolbeltItemID) == itemID.storageText)
            .filter(statuses.map(\.rawValue).contains(Column(AgentToolCredential.CodingKeys.status)))
            .order(Column(AgentToolCredential.CodingKeys.createdAt), Column(AgentToolCredential.CodingKeys.id))
            .fetchAll(db)
    }
}

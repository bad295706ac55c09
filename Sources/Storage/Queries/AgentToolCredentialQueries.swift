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

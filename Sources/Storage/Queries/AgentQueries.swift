import Foundation
import GRDB

/// Queries of `Agent` rows.
extension AppDatabase {
    /// Inserts an agent; fails with `.uniqueViolation`, `.foreignKeyViolation` or `.checkViolation` when the schema refuses it.
    @discardableResult
    public func insert(_ agent: Agent) async throws -> Agent {
        try await insertRecord(agent)
    }

    /// The Agent with this id, or nil.
    public func fetchAgent(id: UUID) async throws -> Agent? {
        try await fetchRecord(Agent.self, key: id)
    }

    /// Saves every column of an agent; throws `.notFound` if it no longer exists.
    public func update(_ agent: Agent) async throws {
        try await updateRecord(agent)
    }

    /// Deletes an agent (and what cascades from it); throws `.notFound` if it does not exist.
    public func deleteAgent(id: UUID) async throws {
        try await deleteRecord(Agent.self, key: id)
    }

    /// The agents a user owns, oldest first.
    public func fetchAgents(userID: UUID) async throws -> [Agent] {
        try await fetchRecords(Agent.self, where: Agent.CodingKeys.userID, is: userID)
    }
}

/// Agent queries inside a transaction.
extension Transaction {
    /// A page of agents by name, optionally of one owner and with one name.
    public func agents(userID: UUID?, name: String?, page: PageRequest) throws -> Page<Agent> {
        var request = Agent.order(Column(Agent.CodingKeys.name), Column(Agent.CodingKeys.id))
        if let userID { request = request.filter(Column(Agent.CodingKeys.userID) == userID.storageText) }
        if let name { request = request.filter(Column(Agent.CodingKeys.name) == name) }
        return try self.page(request, page)
    }

    /// Ids of the agents a user owns.
    public func agentIDs(userID: UUID) throws -> [UUID] {
        try Agent.filter(Column(Agent.CodingKeys.userID) == userID.storageText).fetchAll(db).map(\.id)
    }
}

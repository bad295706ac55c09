import Foundation
import Storage

/// Agents: each owned by a user, who manages it and its tokens; admins see all.
public struct AgentService: Sendable {
    let database: AppDatabase
    let tokens: TokenService
    let audit: AuditLog

    /// What may change on an agent.
    public struct Changes: Sendable {
        public var name: String?
        public var description: String?

        public init(name: String? = nil, description: String? = nil) {
            self.name = name
            self.description = description
        }
    }

    /// Creates an agent owned by the calling user.
    public func create(name: String, description: String?, by principal: Principal) async throws -> Agent {
        let owner = try principal.requireUser()
        let agent = Agent(userID: owner.id, name: try Validation.name(name), description: try Validation.text(description, field: "description"))
        return try await database.transaction { [audit] tx in
            let agent = try tx.insert(agent)
            try audit.append(Self.event(principal, "agent.create", agent), in: tx)
            return agent
        }
    }

    /// An agent the principal may see.
    public func get(_ id: UUID, by principal: Principal) async throws -> Agent {
        try await database.snapshot { tx in try Self.visible(id, to: principal, in: tx) }
    }

    /// The principal's agents (all for an admin), optionally filtered.
    public func list(userID: UUID?, name: String?, page: PageRequest, by principal: Principal) async throws -> Page<Agent> {
        let scope = try principal.ownerScope()
        if let scope, let userID, userID != scope { return Page(items: [], total: 0) }
        return try await database.snapshot { tx in try tx.agents(userID: scope ?? userID, name: name, page: page) }
    }

    /// Renames or re-describes an agent.
    public func update(_ id: UUID, _ changes: Changes, by principal: Principal) async throws -> Agent {
        let name = try changes.name.map { try Validation.name($0) }
        let description = try Validation.text(changes.description, field: "description")
        return try await database.transaction { [audit] tx in
            var agent = try Self.visible(id, to: principal, in: tx)
            if let name { agent.name = name }
            if let description { agent.description = description }
            agent.updatedAt = Timestamp.now()
            try tx.update(agent)
            try audit.append(Self.event(principal, "agent.update", agent), in: tx)
            return agent
        }
    }

    /// Deletes an agent with its tokens, toolbox access and toolbelt.
    public func delete(_ id: UUID, by principal: Principal) async throws {
        try await database.transaction { [audit] tx in
            let agent = try Self.visible(id, to: principal, in: tx)
            try tx.delete(Agent.self, id: agent.id)
            try audit.append(Self.event(principal, "agent.delete", agent), in: tx)
        }
    }

    /// Issues a token for an agent the principal owns.
    public func issueToken(_ id: UUID, name: String?, expiresInSeconds: Int?, by principal: Principal) async throws -> IssuedToken {
        let expiry = try Validation.expiry(seconds: expiresInSeconds)
        let name = try name.map { try Validation.name($0, field: "token name") }
        return try await database.transaction { [tokens, audit] tx in
            let agent = try Self.visible(id, to: principal, in: tx)
            let issued = try tokens.issue(.agent(agent.id), name: name, expiresAt: expiry, in: tx)
            try audit.append(
                AuditEvent(
                    actor: principal.auditActor, action: "token.issue", targetType: "api_token",
                    targetID: issued.record.id.uuidString.lowercased(), detail: ["agent_id": agent.id.uuidString.lowercased()]), in: tx)
            return issued
        }
    }

    /// An agent the principal may see, or "not found" exactly as for a missing one.
    static func visible(_ id: UUID, to principal: Principal, in tx: Transaction) throws -> Agent {
        guard let agent = try tx.fetch(Agent.self, id: id), principal.owns(agent.userID) else {
            throw ServiceError(.notFound, "no agent has id \(id.uuidString.lowercased())")
        }
        return agent
    }

    private static func event(_ principal: Principal, _ action: String, _ agent: Agent) -> AuditEvent {
        AuditEvent(actor: principal.auditActor, action: action, targetType: "agent", targetID: agent.id.uuidString.lowercased(), detail: ["name": agent.name])
    }
}

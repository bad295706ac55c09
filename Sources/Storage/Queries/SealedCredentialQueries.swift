import Foundation
import GRDB

/// Credential queries that involve the vault's sealed value and the ids it is bound to.
extension AppDatabase {
    /// A credential and the id of the agent whose toolbelt holds it, or nil.
    public func fetchCredentialWithAgent(id: UUID) async throws -> (credential: AgentToolCredential, agentID: UUID)? {
        try await read { db in
            guard let credential = try AgentToolCredential.fetchOne(db, key: id),
                let item = try AgentToolbeltItem.fetchOne(db, key: credential.agentToolbeltItemID)
            else { return nil }
            return (credential, item.agentID)
        }
    }
}

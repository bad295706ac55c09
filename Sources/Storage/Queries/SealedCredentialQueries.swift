import Foundation
import GRDB

/// Credential queries that involve the vault's sealed value and the ids it is bound to.
extension AppDatabase {
    /// Inserts `credential` with the sealed value that `seal` makes, given the toolbelt item's agent id.
    ///
    /// `seal` runs inside the write transaction, so a key rotation that retires a key cannot miss this row.
    /// Errors thrown by `seal` reach the caller unchanged.
    public func insertCredential(
        _ credential: AgentToolCredential, seal: @escaping @Sendable (_ agentID: UUID) throws -> Data
    ) async throws -> AgentToolCredential {
        let outcome: Result<AgentToolCredential, any Error> = try await write { db in
            guard let item = try AgentToolbeltItem.fetchOne(db, key: credential.agentToolbeltItemID) else {
                throw StorageError(
                    code: .notFound, message: "no toolbelt item has id \(credential.agentToolbeltItemID.storageText)",
                    table: AgentToolbeltItem.databaseTableName)
            }
            var row = credential
            do {
                row.encryptedCredentials = try seal(item.agentID)
            } catch {
                return .failure(error)
            }
            return .success(try row.inserted(db))
        }
        return try outcome.get()
    }

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

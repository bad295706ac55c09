import Foundation
import Storage
import Vault

/// Stores and opens agents' tool credentials, each sealed for its own row, agent and toolbelt item.
public struct CredentialSealing: Sendable {
    let database: AppDatabase
    let vault: Vault

    public init(database: AppDatabase, vault: Vault) {
        self.database = database
        self.vault = vault
    }

    /// The place a credential's sealed value is bound to.
    static func context(credentialID: UUID, agentID: UUID, itemID: UUID) -> SealContext {
        SealContext(
            table: AgentToolCredential.databaseTableName, rowID: credentialID.uuidString.lowercased(),
            owners: ["agent_id": agentID.uuidString.lowercased(), "agent_toolbelt_item_id": itemID.uuidString.lowercased()])
    }

    /// Seals `secret` and stores it as a new credential of the toolbelt item, with no schema check and no
    /// audit record: the primitive under ``CredentialService/create(itemID:type:credentials:accountIdentifier:by:)``,
    /// for offline tools and tests.
    public func store(
        _ secret: [UInt8], type: String, accountIdentifier: String?, forItem itemID: UUID
    ) async throws -> AgentToolCredential {
        let guarded = try secret.withUnsafeBytes { try SecureBytes(copying: $0) }
        return try await database.transaction { tx in
            guard let item = try tx.fetch(AgentToolbeltItem.self, id: itemID) else {
                throw ServiceError(.notFound, "no toolbelt item has id \(itemID.uuidString.lowercased())")
            }
            var credential = AgentToolCredential(
                agentToolbeltItemID: itemID, credentialType: type, encryptedCredentials: Data(), accountIdentifier: accountIdentifier)
            credential.encryptedCredentials = seal(guarded, credentialID: credential.id, agentID: item.agentID, itemID: itemID)
            return try tx.insert(credential)
        }
    }

    /// Seals `secret` for a credential row that the caller's write transaction is about to insert, bound to that
    /// row, its agent and its toolbelt item. Sealing inside the transaction means a key rotation cannot miss the row.
    func seal(_ secret: SecureBytes, credentialID: UUID, agentID: UUID, itemID: UUID) -> Data {
        let context = Self.context(credentialID: credentialID, agentID: agentID, itemID: itemID)
        return secret.withUnsafeBytes { Data(vault.seal($0, for: context)) }
    }

    /// Opens a credential's secret into guarded memory.
    ///
    /// If a key rotation retired the key between reading the row and opening it, the row holds a
    /// re-sealed value by then, so it is read once more.
    public func open(credentialID: UUID) async throws -> SecureBytes {
        do {
            return try await openOnce(credentialID)
        } catch let error as VaultError where error.code == .retiredKeyVersion {
            return try await openOnce(credentialID)
        }
    }

    private func openOnce(_ credentialID: UUID) async throws -> SecureBytes {
        guard let (credential, agentID) = try await database.fetchCredentialWithAgent(id: credentialID) else {
            throw ServiceError(.notFound, "no credential has id \(credentialID.uuidString.lowercased())")
        }
        let context = Self.context(credentialID: credential.id, agentID: agentID, itemID: credential.agentToolbeltItemID)
        return try vault.open(Array(credential.encryptedCredentials), for: context)
    }
}

import Foundation
import GRDB

/// Queries of the vault's own tables, `vault_meta` and `vault_keys`.
extension AppDatabase {
    /// The vault's settings row, or nil before the vault is created.
    public func fetchVaultMeta() async throws -> VaultMeta? {
        try await fetchRecord(VaultMeta.self, key: 1)
    }

    /// Every data key row, oldest version first.
    public func fetchVaultKeys() async throws -> [VaultKey] {
        try await read { db in try VaultKey.order(Column("version")).fetchAll(db) }
    }

    /// Creates the vault: its settings row and its first data key, in one transaction.
    public func createVault(meta: VaultMeta, firstKey: VaultKey) async throws {
        try await write { db in
            try meta.insert(db)
            try firstKey.insert(db)
        }
    }

    /// Adds a new active data key; the key that was active becomes retiring, in the same transaction.
    public func addVaultKey(_ key: VaultKey) async throws {
        try await write { db in
            try VaultKey.filter(Column("state") == VaultKeyState.active.rawValue)
                .updateAll(db, Column("state").set(to: VaultKeyState.retiring.rawValue))
            try key.insert(db)
        }
    }

    /// Retires every data key below `version` (state `retired`, wrapped key erased) if no sealed value's
    /// first bytes sort below `prefix`; the check and the change share one transaction. Returns whether it retired.
    public func retireVaultKeys(below version: Int, ifNoSealedValueBelow prefix: Data) async throws -> Bool {
        try await write { db in
            for column in SealedColumn.all {
                if try column.hasValue(below: prefix, db) { return false }
            }
            try VaultKey.filter(Column("version") < version && Column("state") != VaultKeyState.retired.rawValue)
                .updateAll(
                    db,
                    Column("state").set(to: VaultKeyState.retired.rawValue),
                    Column("wrapped_key").set(to: nil),
                    Column("retired_at").set(to: Timestamp.string(from: Timestamp.now())))
            return true
        }
    }
}

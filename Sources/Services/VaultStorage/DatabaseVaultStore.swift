import Foundation
import Storage
import Vault

/// The vault's persistence over the SQLite file: `vault_meta`, `vault_keys` and every sealed column.
struct DatabaseVaultStore: VaultStore {
    let database: AppDatabase

    func loadHeader() async throws -> VaultHeader? {
        guard let meta = try await database.fetchVaultMeta() else { return nil }
        let kdf = meta.kdfSalt.map { salt in
            KDFParameters(
                algorithm: meta.kdfAlgorithm ?? "", salt: Array(salt),
                opsLimit: UInt64(meta.kdfOpslimit ?? 0), memLimit: UInt64(meta.kdfMemlimit ?? 0))
        }
        return VaultHeader(
            masterKeyKind: .init(rawValue: meta.masterKeyKind.rawValue)!, keyCheckValue: Array(meta.keyCheckValue),
            wrappedServerKey: Array(meta.serverKeyWrapped), kdf: kdf)
    }

    func loadDataKeys() async throws -> [StoredDataKey] {
        try await database.fetchVaultKeys().map { key in
            StoredDataKey(version: UInt32(key.version), wrappedKey: key.wrappedKey.map(Array.init), state: .init(rawValue: key.state.rawValue)!)
        }
    }

    func initialize(header: VaultHeader, firstKey: StoredDataKey) async throws {
        let meta = VaultMeta(
            formatVersion: Int(SealedBlob.formatVersion), masterKeyKind: .init(rawValue: header.masterKeyKind.rawValue)!,
            keyCheckValue: Data(header.keyCheckValue), serverKeyWrapped: Data(header.wrappedServerKey), kdfAlgorithm: header.kdf?.algorithm, kdfSalt: header.kdf.map { Data($0.salt) },
            kdfOpslimit: header.kdf.map { Int64($0.opsLimit) }, kdfMemlimit: header.kdf.map { Int64($0.memLimit) })
        try await database.createVault(meta: meta, firstKey: Self.record(firstKey))
    }

    func addDataKey(_ key: StoredDataKey) async throws {
        try await database.addVaultKey(Self.record(key))
    }

    func retireDataKeys(below version: UInt32) async throws -> Bool {
        try await database.retireVaultKeys(below: Int(version), ifNoSealedValueBelow: Data(SealedBlob.prefix(keyVersion: version)))
    }

    func sealedRows(keyVersionBelow version: UInt32, limit: Int) async throws -> [SealedRow] {
        try await database.fetchSealedValues(below: Data(SealedBlob.prefix(keyVersion: version)), limit: limit).map(Self.row)
    }

    func sealedRows(after: SealContext?, limit: Int) async throws -> [SealedRow] {
        try await database.fetchSealedValues(after: after.map { ($0.table, $0.rowID) }, limit: limit).map(Self.row)
    }

    func replaceSealed(_ row: SealedRow, with blob: [UInt8]) async throws -> Bool {
        try await database.replaceSealedValue(table: row.context.table, rowID: row.context.rowID, expected: Data(row.blob), with: Data(blob))
    }

    private static func record(_ key: StoredDataKey) -> VaultKey {
        VaultKey(version: Int(key.version), wrappedKey: key.wrappedKey.map { Data($0) }, state: .init(rawValue: key.state.rawValue)!)
    }

    private static func row(_ value: SealedValue) -> SealedRow {
        SealedRow(context: SealContext(table: value.table, rowID: value.rowID, owners: value.owners), blob: Array(value.blob))
    }
}

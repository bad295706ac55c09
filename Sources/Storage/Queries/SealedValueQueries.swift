import Foundation
import GRDB

/// A value sealed by the vault, with the ids the vault binds it to.
public struct SealedValue: Sendable, Equatable {
    /// Table of the sealed column.
    public var table: String
    /// Id of the row.
    public var rowID: String
    /// Owning ids by column name.
    public var owners: [String: String]
    /// The stored bytes.
    public var blob: Data
}

/// A column that holds sealed values, and how to find the ids each value is bound to.
struct SealedColumn: Sendable {
    let table: String
    let column: String
    /// Selects `row_id`, one column per owner, and `blob`, from a query aliased `t`.
    let select: String
    let owners: [String]

    /// Every sealed column of the schema, by table name.
    static let all: [SealedColumn] = [
        SealedColumn(
            table: "agent_tool_credentials", column: "encrypted_credentials",
            select: """
                SELECT t.id AS row_id, i.agent_id AS agent_id, t.agent_toolbelt_item_id AS agent_toolbelt_item_id,
                       t.encrypted_credentials AS blob
                FROM agent_tool_credentials t JOIN agent_toolbelt_items i ON i.id = t.agent_toolbelt_item_id
                """,
            owners: ["agent_id", "agent_toolbelt_item_id"]),
        SealedColumn(
            table: "registry_credentials", column: "encrypted_password",
            select: "SELECT t.id AS row_id, t.registry AS registry, t.encrypted_password AS blob FROM registry_credentials t",
            owners: ["registry"]),
        SealedColumn(
            table: "cloud_credentials", column: "encrypted_token",
            select: "SELECT t.id AS row_id, t.provider AS provider, t.encrypted_token AS blob FROM cloud_credentials t",
            owners: ["provider"]),
    ]

    static func named(_ table: String) throws -> SealedColumn {
        guard let column = all.first(where: { $0.table == table }) else {
            throw StorageError(code: .notFound, message: "table \(table) has no sealed column", table: table)
        }
        return column
    }

    func values(below prefix: Data, limit: Int, _ db: Database) throws -> [SealedValue] {
        try fetch(db, sql: "\(select) WHERE substr(t.\(column), 1, 5) < ? ORDER BY t.id LIMIT ?", arguments: [prefix, limit])
    }

    func values(after rowID: String?, limit: Int, _ db: Database) throws -> [SealedValue] {
        try fetch(db, sql: "\(select) WHERE t.id > ? ORDER BY t.id LIMIT ?", arguments: [rowID ?? "", limit])
    }

    func hasValue(below prefix: Data, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM \(table) WHERE substr(\(column), 1, 5) < ?)", arguments: [prefix]) ?? false
    }

    private func fetch(_ db: Database, sql: String, arguments: StatementArguments) throws -> [SealedValue] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            SealedValue(
                table: table, rowID: row["row_id"],
                owners: Dictionary(uniqueKeysWithValues: owners.map { ($0, row[$0] as String) }),
                blob: row["blob"])
        }
    }
}

/// Queries over every sealed column, for the vault's rotation and verification.
extension AppDatabase {
    /// Up to `limit` sealed values whose first five bytes sort below `prefix` (docs/vault-format.md:
    /// the format byte and the big-endian key version), i.e. values sealed under older keys.
    public func fetchSealedValues(below prefix: Data, limit: Int) async throws -> [SealedValue] {
        try await read { db in
            var found: [SealedValue] = []
            for column in SealedColumn.all where found.count < limit {
                found += try column.values(below: prefix, limit: limit - found.count, db)
            }
            return found
        }
    }

    /// Up to `limit` sealed values after the given one, ordered by table name then row id.
    public func fetchSealedValues(after position: (table: String, rowID: String)?, limit: Int) async throws -> [SealedValue] {
        let position = position.map { [$0.table, $0.rowID] }
        return try await read { db in
            var found: [SealedValue] = []
            for column in SealedColumn.all.sorted(by: { $0.table < $1.table }) where found.count < limit {
                if let position, column.table < position[0] { continue }
                let after = column.table == position?[0] ? position?[1] : nil
                found += try column.values(after: after, limit: limit - found.count, db)
            }
            return found
        }
    }

    /// Replaces a sealed value only if it still holds `expected`; false when another writer changed it first.
    public func replaceSealedValue(table: String, rowID: String, expected: Data, with replacement: Data) async throws -> Bool {
        let column = try SealedColumn.named(table)
        return try await write { db in
            try db.execute(
                sql: "UPDATE \(column.table) SET \(column.column) = ? WHERE id = ? AND \(column.column) = ?",
                arguments: [replacement, rowID, expected])
            return db.changesCount == 1
        }
    }
}

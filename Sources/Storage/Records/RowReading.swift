import Foundation
import GRDB

/// Column readers for records decoded by hand (`init(row:)`), with the storage conventions of ``StorageRecord``:
/// for the rows read on every heartbeat and toolbox list, where Codable's keyed decoding cost more than the query itself.
extension Row {
    /// A lowercase-UUID text column.
    func storageUUID(_ column: String, in table: String) throws -> UUID {
        guard let text: String = self[column], let id = UUID(uuidString: text) else { throw Self.invalid(column, in: table, "an id") }
        return id
    }

    /// A lowercase-UUID text column that may be NULL.
    func storageOptionalUUID(_ column: String, in table: String) throws -> UUID? {
        guard let text: String = self[column] else { return nil }
        guard let id = UUID(uuidString: text) else { throw Self.invalid(column, in: table, "an id") }
        return id
    }

    /// A required text column.
    func storageText(_ column: String, in table: String) throws -> String {
        guard let text: String = self[column] else { throw Self.invalid(column, in: table, "text") }
        return text
    }

    /// A required ``Timestamp`` column.
    func storageDate(_ column: String, in table: String) throws -> Date {
        guard let date = try storageOptionalDate(column, in: table) else { throw Self.invalid(column, in: table, "a time") }
        return date
    }

    /// A ``Timestamp`` column that may be NULL.
    func storageOptionalDate(_ column: String, in table: String) throws -> Date? {
        guard let text: String = self[column] else { return nil }
        guard let date = Timestamp.date(from: text) else { throw Self.invalid(column, in: table, "a time") }
        return date
    }

    /// A text column holding one of an enumeration's raw values.
    func storageValue<Value: RawRepresentable>(_ column: String, in table: String) throws -> Value where Value.RawValue == String {
        guard let value = Value(rawValue: try storageText(column, in: table)) else { throw Self.invalid(column, in: table, "a known value") }
        return value
    }

    private static func invalid(_ column: String, in table: String, _ expected: String) -> StorageError {
        StorageError(
            code: .invalidRow, message: "a row of \(table) does not hold \(expected) in column \(column); run `agentbox db check`",
            table: table, columns: [column])
    }
}

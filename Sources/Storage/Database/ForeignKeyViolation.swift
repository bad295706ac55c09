/// A row whose foreign key refers to a missing parent, as `PRAGMA foreign_key_check` reports it.
public struct ForeignKeyViolation: Hashable, Sendable, CustomStringConvertible {
    /// The table of the dangling row.
    public var table: String
    /// The dangling row's rowid (nil for tables without one).
    public var rowid: Int64?
    /// The table it refers to.
    public var parent: String

    public init(table: String, rowid: Int64?, parent: String) {
        self.table = table
        self.rowid = rowid
        self.parent = parent
    }

    public var description: String {
        "\(table) row \(rowid.map(String.init) ?? "?") refers to a missing \(parent) row"
    }
}

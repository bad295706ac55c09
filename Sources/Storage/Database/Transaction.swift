import Foundation
import GRDB

/// Typed reads and writes that commit (or roll back) together; valid only inside the closure that receives it.
///
/// Services compose a change and its audit record in one transaction:
/// `try await database.transaction { tx in try tx.insert(agent); try audit.append(..., in: tx) }`.
public struct Transaction {
    let db: Database

    /// Inserts `record` and returns it as stored.
    @discardableResult
    public func insert<Record: StorageRecord>(_ record: Record) throws -> Record {
        try record.inserted(db)
    }

    /// Replaces the stored row of `record`; throws ``StorageError/Code/notFound`` if there is none.
    public func update<Record: StorageRecord>(_ record: Record) throws {
        try record.update(db)
    }

    /// The row with this id, or nil (through a statement prepared once per connection).
    public func fetch<Record: StorageRecord>(_ type: Record.Type, id: UUID) throws -> Record? {
        try fetchOne(Record.self, cached: "SELECT * FROM \(Record.databaseTableName) WHERE id = ?", [id.storageText])
    }

    /// The first row of a fixed query, its statement prepared once per connection: for the paths every call takes.
    func fetchOne<Record: StorageRecord>(_ type: Record.Type, cached sql: String, _ arguments: StatementArguments) throws -> Record? {
        try Record.fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    /// Deletes the row with this id (and what cascades from it); false if there was none.
    @discardableResult
    public func delete<Record: StorageRecord>(_ type: Record.Type, id: UUID) throws -> Bool {
        try Record.deleteOne(db, key: id)
    }

    /// One page of `request`, with the total number of rows it matches.
    func page<Record: StorageRecord>(_ request: QueryInterfaceRequest<Record>, _ page: PageRequest) throws -> Page<Record> {
        Page(items: try request.limit(page.limit, offset: page.offset).fetchAll(db), total: try request.fetchCount(db))
    }
}

/// Which slice of a list to read.
public struct PageRequest: Sendable, Equatable {
    /// The largest page a caller may ask for.
    public static let maximumLimit = 200
    public var limit: Int
    public var offset: Int

    /// A page; `limit` is clamped to 1...``maximumLimit`` and `offset` to 0 or more.
    public init(limit: Int = 50, offset: Int = 0) {
        self.limit = min(max(limit, 1), Self.maximumLimit)
        self.offset = max(offset, 0)
    }
}

/// A slice of a list and the size of the whole list.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var total: Int

    public init(items: [Item], total: Int) {
        self.items = items
        self.total = total
    }

    /// The same page with each item transformed.
    public func map<Other: Sendable>(_ transform: (Item) throws -> Other) rethrows -> Page<Other> {
        Page<Other>(items: try items.map(transform), total: total)
    }
}

extension AppDatabase {
    /// Runs `body` in one write transaction; errors roll it back (database errors become ``StorageError``s,
    /// the body's own errors pass through).
    @discardableResult
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (Transaction) throws -> T) async throws -> T {
        try await write { db in try body(Transaction(db: db)) }
    }

    /// Runs `body` on a consistent read-only snapshot.
    public func snapshot<T: Sendable>(_ body: @escaping @Sendable (Transaction) throws -> T) async throws -> T {
        try await read { db in try body(Transaction(db: db)) }
    }
}

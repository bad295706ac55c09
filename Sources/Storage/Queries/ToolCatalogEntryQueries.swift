import Foundation
import GRDB

/// Queries of `ToolCatalogEntry` rows.
extension AppDatabase {
    /// Inserts a catalog entry; fails with `.uniqueViolation`, `.foreignKeyViolation` or `.checkViolation` when the schema refuses it.
    @discardableResult
    public func insert(_ toolCatalogEntry: ToolCatalogEntry) async throws -> ToolCatalogEntry {
        try await insertRecord(toolCatalogEntry)
    }

    /// The ToolCatalogEntry with this id, or nil.
    public func fetchToolCatalogEntry(id: UUID) async throws -> ToolCatalogEntry? {
        try await fetchRecord(ToolCatalogEntry.self, key: id)
    }

    /// Saves every column of a catalog entry; throws `.notFound` if it no longer exists.
    public func update(_ toolCatalogEntry: ToolCatalogEntry) async throws {
        try await updateRecord(toolCatalogEntry)
    }

    /// Deletes a catalog entry (and what cascades from it); throws `.notFound` if it does not exist.
    public func deleteToolCatalogEntry(id: UUID) async throws {
        try await deleteRecord(ToolCatalogEntry.self, key: id)
    }
}

/// Catalog queries inside a transaction.
extension Transaction {
    /// A page of catalog entries by name, optionally only enabled (or disabled) ones, or those with one name (any case).
    public func toolCatalogEntries(enabled: Bool?, name: String?, page: PageRequest) throws -> Page<ToolCatalogEntry> {
        var request = ToolCatalogEntry.order(Column(ToolCatalogEntry.CodingKeys.name), Column(ToolCatalogEntry.CodingKeys.id))
        if let enabled { request = request.filter(Column(ToolCatalogEntry.CodingKeys.isEnabled) == enabled) }
        if let name { request = request.filter(Column(ToolCatalogEntry.CodingKeys.name).collating(.nocase) == name) }
        return try self.page(request, page)
    }

    /// The catalog entry with this name compared without case, other than `excluding`, if there is one.
    public func toolCatalogEntry(named name: String, excluding id: UUID? = nil) throws -> ToolCatalogEntry? {
        var request = ToolCatalogEntry.filter(Column(ToolCatalogEntry.CodingKeys.name).collating(.nocase) == name)
        if let id { request = request.filter(Column(ToolCatalogEntry.CodingKeys.id) != id.storageText) }
        return try request.fetchOne(db)
    }
}

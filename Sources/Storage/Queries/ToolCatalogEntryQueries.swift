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

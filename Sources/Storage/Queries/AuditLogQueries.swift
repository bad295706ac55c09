import Foundation
import GRDB

/// Queries of the append-only audit log. There is no update or delete: the database refuses both.
extension AppDatabase {
    /// Appends an entry and returns it with its `seq`; fails with `.uniqueViolation` if another entry already
    /// follows the same `prevHash` (the chain never forks).
    @discardableResult
    public func insert(_ entry: AuditLogEntry) async throws -> AuditLogEntry {
        try await insertRecord(entry)
    }

    /// The entry with this id, or nil.
    public func fetchAuditLogEntry(id: UUID) async throws -> AuditLogEntry? {
        try await read { db in
            try AuditLogEntry.filter(Column(AuditLogEntry.CodingKeys.id) == id.storageText).fetchOne(db)
        }
    }

    /// The newest entry (the one the next entry chains to), or nil when the log is empty.
    public func fetchLastAuditLogEntry() async throws -> AuditLogEntry? {
        try await read { db in
            try AuditLogEntry.order(Column(AuditLogEntry.CodingKeys.seq).desc).fetchOne(db)
        }
    }

    /// Up to `limit` entries after `seq` (0 for the start), in chain order: for verifying or exporting the log in pages.
    public func fetchAuditLogEntries(afterSeq seq: Int64 = 0, limit: Int = 1_000) async throws -> [AuditLogEntry] {
        try await read { db in
            try AuditLogEntry
                .filter(Column(AuditLogEntry.CodingKeys.seq) > seq)
                .order(Column(AuditLogEntry.CodingKeys.seq))
                .limit(limit)
                .fetchAll(db)
        }
    }
}

/// The audit log inside a transaction, so a change and its record commit together.
extension Transaction {
    /// The hash of the newest entry, which the next one chains to; nil when the log is empty.
    public func lastAuditHash() throws -> Data? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT hash FROM \(AuditLogEntry.databaseTableName) ORDER BY seq DESC LIMIT 1"))
    }

    /// A page of entries, newest first, optionally only those of one actor.
    public func auditLogEntries(actorID: UUID?, actionPrefix: String? = nil, outcome: AuditOutcome? = nil, page: PageRequest) throws -> Page<AuditLogEntry> {
        var request = AuditLogEntry.order(Column(AuditLogEntry.CodingKeys.seq).desc)
        if let actorID { request = request.filter(Column(AuditLogEntry.CodingKeys.actorID) == actorID.storageText) }
        if let actionPrefix, !actionPrefix.isEmpty {
            let escaped = actionPrefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            request = request.filter(sql: "action LIKE ? ESCAPE '\\'", arguments: [escaped + "%"])
        }
        if let outcome { request = request.filter(Column(AuditLogEntry.CodingKeys.outcome) == outcome.rawValue) }
        return try self.page(request, page)
    }
}

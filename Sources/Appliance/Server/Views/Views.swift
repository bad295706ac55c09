import Foundation
import Storage

/// How ids and times appear in the API: lowercase UUIDs and the database's ISO-8601 text.
extension UUID {
    var text: String { uuidString.lowercased() }
}

extension Date {
    var text: String { Timestamp.string(from: self) }
}

/// A page of a list: `{"items": [...], "total": N, "limit": L, "offset": O}`.
struct PageView<Item: Codable & Sendable>: Codable, Sendable {
    let items: [Item]
    let total: Int
    let limit: Int
    let offset: Int

    init<Record>(_ page: Page<Record>, _ request: PageRequest, _ transform: (Record) -> Item) {
        items = page.items.map(transform)
        total = page.total
        limit = request.limit
        offset = request.offset
    }
}

/// A list that is not paged: `{"items": [...]}`.
struct ItemsView<Item: Codable & Sendable>: Codable, Sendable {
    let items: [Item]
}

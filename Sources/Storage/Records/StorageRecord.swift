import Foundation
import GRDB

/// A row type of agentbox's database, with the storage conventions every table shares:
/// ids are lowercase UUID text, times are ``Timestamp`` text (ISO-8601 UTC with milliseconds), blobs are `Data`,
/// JSON columns are `String`s holding JSON text.
public protocol StorageRecord: Codable, Equatable, Sendable, FetchableRecord, MutablePersistableRecord {}

extension StorageRecord {
    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .custom { Timestamp.string(from: $0) }
    }

    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        .custom { value in String.fromDatabaseValue(value).flatMap(Timestamp.date(from:)) }
    }

    public static func databaseUUIDEncodingStrategy(for column: String) -> DatabaseUUIDEncodingStrategy {
        .lowercaseString
    }
}

extension UUID {
    /// The stored form of an id: lowercase text.
    var storageText: String { uuidString.lowercased() }
}

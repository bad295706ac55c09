import Foundation
import GRDB

/// A person who uses agentbox (table `users`).
public struct User: StorageRecord, PersistableRecord {
    public static let databaseTableName = "users"

    public var id: UUID
    /// Unique, non-empty login name.
    public var name: String
    public var role: UserRole
    public var createdAt: Date
    public var updatedAt: Date

    /// Makes a user; times default to now and `updatedAt` to `createdAt`.
    public init(id: UUID = UUID(), name: String, role: UserRole = .user, createdAt: Date = Timestamp.now(), updatedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case name
        case role
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// What a user may do: an admin sees and manages everything, a user only their own rows.
public enum UserRole: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case admin
    case user
}

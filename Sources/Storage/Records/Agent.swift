import Foundation
import GRDB

/// An AI agent owned by a user (table `agents`).
public struct Agent: StorageRecord, PersistableRecord {
    public static let databaseTableName = "agents"

    public var id: UUID
    /// The owner; a user with agents cannot be deleted.
    public var userID: UUID
    /// Unique per owner, non-empty.
    public var name: String
    public var description: String?
    public var createdAt: Date
    public var updatedAt: Date

    /// Makes an agent; times default to now and `updatedAt` to `createdAt`.
    public init(
        id: UUID = UUID(),
        userID: UUID,
        name: String,
        description: String? = nil,
        createdAt: Date = Timestamp.now(),
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.userID = userID
        self.name = name
        self.description = description
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case userID = "user_id"
        case name
        case description
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

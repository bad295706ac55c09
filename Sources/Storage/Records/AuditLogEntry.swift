import Foundation
import GRDB

/// One record of the append-only, hash-chained audit log (table `audit_log`). Never holds a secret.
///
/// Rows can be inserted but never updated or deleted. `seq` is assigned on insert.
public struct AuditLogEntry: StorageRecord {
    public static let databaseTableName = "audit_log"

    /// The position in the chain, assigned by the database; nil before insert.
    public var seq: Int64?
    public var id: UUID
    public var at: Date
    public var actorKind: AuditActorKind
    public var actorID: UUID?
    /// What was done, e.g. `credential.handout`.
    public var action: String
    public var targetType: String?
    public var targetID: String?
    public var outcome: AuditOutcome
    /// Details (JSON text), e.g. the rule that denied.
    public var detailJSON: String
    /// The hash of the previous record.
    public var prevHash: Data
    /// The hash of this record, covering `prevHash`.
    public var hash: Data

    /// Makes an entry; `at` defaults to now.
    public init(
        id: UUID = UUID(),
        at: Date = Timestamp.now(),
        actorKind: AuditActorKind,
        actorID: UUID? = nil,
        action: String,
        targetType: String? = nil,
        targetID: String? = nil,
        outcome: AuditOutcome,
        detailJSON: String = "{}",
        prevHash: Data,
        hash: Data
    ) {
        self.seq = nil
        self.id = id
        self.at = at
        self.actorKind = actorKind
        self.actorID = actorID
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.outcome = outcome
        self.detailJSON = detailJSON
        self.prevHash = prevHash
        self.hash = hash
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        seq = inserted.rowID
    }

    enum CodingKeys: String, CodingKey {
        case seq
        case id
        case at
        case actorKind = "actor_kind"
        case actorID = "actor_id"
        case action
        case targetType = "target_type"
        case targetID = "target_id"
        case outcome
        case detailJSON = "detail_json"
        case prevHash = "prev_hash"
        case hash
    }
}

/// Who acted.
public enum AuditActorKind: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case system
    case user
    case agent
    case toolbox
}

/// How it ended.
public enum AuditOutcome: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case ok
    case denied
    case error
}

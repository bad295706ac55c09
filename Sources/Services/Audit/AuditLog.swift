import Foundation
import JSONSchema
import Storage
import Vault

/// Who did something, as the audit log names them.
public struct AuditActor: Sendable, Equatable {
    public var kind: AuditActorKind
    public var id: UUID?

    public init(kind: AuditActorKind, id: UUID?) {
        self.kind = kind
        self.id = id
    }

    /// agentbox itself (start-up, offline commands).
    public static let system = AuditActor(kind: .system, id: nil)
}

/// One thing to record: never a secret, only ids, names and reasons.
public struct AuditEvent: Sendable {
    public var actor: AuditActor
    /// What was done, e.g. `agent.create`, `token.rejected`.
    public var action: String
    public var targetType: String?
    public var targetID: String?
    public var outcome: AuditOutcome
    /// Details, e.g. the rule that denied; keys and values are plain text without secrets.
    public var detail: [String: String]

    public init(
        actor: AuditActor, action: String, targetType: String? = nil, targetID: String? = nil, outcome: AuditOutcome = .ok,
        detail: [String: String] = [:]
    ) {
        self.actor = actor
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.outcome = outcome
        self.detail = detail
    }
}

/// The append-only, hash-chained audit log: each record's hash covers the previous record's hash,
/// keyed with the server key, so an edited, inserted or deleted record breaks the chain.
public struct AuditLog: Sendable {
    /// The previous hash of the first record.
    static let genesis = Data(repeating: 0, count: 32)

    let vault: Vault

    public init(vault: Vault) {
        self.vault = vault
    }

    /// Appends `event` in the caller's transaction, so it commits with the change it records.
    @discardableResult
    public func append(_ event: AuditEvent, in tx: Transaction) throws -> AuditLogEntry {
        let previous = try tx.lastAuditHash() ?? Self.genesis
        var entry = AuditLogEntry(
            actorKind: event.actor.kind, actorID: event.actor.id, action: event.action, targetType: event.targetType,
            targetID: event.targetID, outcome: event.outcome, detailJSON: Self.json(event.detail), prevHash: previous, hash: Data())
        entry.hash = hash(of: entry)
        return try tx.insert(entry)
    }

    /// The keyed hash a record must carry, computed from its fields and its previous hash.
    func hash(of entry: AuditLogEntry) -> Data {
        let fields = [
            entry.id.uuidString.lowercased(), Timestamp.string(from: entry.at), entry.actorKind.rawValue,
            entry.actorID?.uuidString.lowercased() ?? "", entry.action, entry.targetType ?? "", entry.targetID ?? "",
            entry.outcome.rawValue, entry.detailJSON,
        ]
        var bytes = Array(entry.prevHash)
        for field in fields {
            let utf8 = Array(field.utf8)
            bytes += Array("\(utf8.count):".utf8) + utf8 + [UInt8(ascii: ",")]
        }
        return Data(vault.keyedHash(bytes, for: .auditChain))
    }

    /// What `verify` found: how many records it checked and the first one that breaks the chain.
    public struct Verification: Sendable, Equatable {
        public var checked: Int
        public var firstBreak: (seq: Int64, reason: String)?

        public var isIntact: Bool { firstBreak == nil }

        public static func == (lhs: Verification, rhs: Verification) -> Bool {
            lhs.checked == rhs.checked && lhs.firstBreak?.seq == rhs.firstBreak?.seq && lhs.firstBreak?.reason == rhs.firstBreak?.reason
        }
    }

    /// Walks the whole chain in order and reports the first record that was edited, inserted or follows a deleted one.
    public func verify(_ database: AppDatabase) async throws -> Verification {
        var previous = Self.genesis
        var lastSeq: Int64 = 0
        var checked = 0
        while true {
            let entries = try await database.fetchAuditLogEntries(afterSeq: lastSeq, limit: 1_000)
            guard !entries.isEmpty else { return Verification(checked: checked, firstBreak: nil) }
            for entry in entries {
                let seq = entry.seq ?? 0
                if entry.prevHash != previous {
                    return Verification(checked: checked, firstBreak: (seq, "does not follow the record before it: a record was deleted or inserted"))
                }
                if entry.hash != hash(of: entry) {
                    return Verification(checked: checked, firstBreak: (seq, "its contents do not match its hash: the record was edited"))
                }
                previous = entry.hash
                lastSeq = seq
                checked += 1
            }
        }
    }

    /// Details as compact JSON with sorted keys (through JSONValue's writer: a JSONEncoder per record cost more
    /// than the rest of an append).
    static func json(_ detail: [String: String]) -> String {
        JSONValue.object(detail.mapValues { .string($0) }).jsonText
    }
}

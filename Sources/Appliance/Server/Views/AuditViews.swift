import Foundation
import Storage
import Vault

/// An audit record as the API shows it.
struct AuditEntryView: Codable, Sendable {
    let seq: Int64
    let id: String
    let at: String
    let actorKind: String
    let actorID: String?
    let action: String
    let targetType: String?
    let targetID: String?
    let outcome: String
    let detail: [String: String]

    init(_ entry: AuditLogEntry) {
        seq = entry.seq ?? 0
        id = entry.id.text
        at = entry.at.text
        actorKind = entry.actorKind.rawValue
        actorID = entry.actorID?.text
        action = entry.action
        targetType = entry.targetType
        targetID = entry.targetID
        outcome = entry.outcome.rawValue
        detail = (try? JSONDecoder().decode([String: String].self, from: Data(entry.detailJSON.utf8))) ?? [:]
    }

    enum CodingKeys: String, CodingKey {
        case seq, id, at, action, outcome, detail
        case actorKind = "actor_kind"
        case actorID = "actor_id"
        case targetType = "target_type"
        case targetID = "target_id"
    }
}

/// What a vault rotation did.
struct RotationView: Codable, Sendable {
    let newKeyVersion: UInt32
    let retiredVersions: [UInt32]
    let resealed: Int

    init(_ report: RotationReport) {
        newKeyVersion = report.newKeyVersion
        retiredVersions = report.retiredVersions
        resealed = report.resealed
    }

    enum CodingKeys: String, CodingKey {
        case resealed
        case newKeyVersion = "new_key_version"
        case retiredVersions = "retired_versions"
    }
}

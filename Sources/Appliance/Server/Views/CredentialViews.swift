import Foundation
import Storage

/// A credential as the API shows it: never the secret, never the sealed bytes; the account identifier masked.
struct CredentialView: Codable, Sendable {
    let id: String
    let toolbeltItemID: String
    let credentialType: String
    let accountIdentifier: String?
    let status: String
    let lastValidatedAt: String?
    let createdAt: String
    let updatedAt: String

    init(_ credential: AgentToolCredential) {
        id = credential.id.text
        toolbeltItemID = credential.agentToolbeltItemID.text
        credentialType = credential.credentialType
        accountIdentifier = credential.accountIdentifier
        status = credential.status.rawValue
        lastValidatedAt = credential.lastValidatedAt?.text
        createdAt = credential.createdAt.text
        updatedAt = credential.updatedAt.text
    }

    enum CodingKeys: String, CodingKey {
        case id, status
        case toolbeltItemID = "toolbelt_item_id"
        case credentialType = "credential_type"
        case accountIdentifier = "account_identifier"
        case lastValidatedAt = "last_validated_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// The body of `PATCH /api/v1/credentials/{id}`.
struct CredentialStatusBody: Codable, Sendable {
    let status: String?
}

import JSONSchema
import Services

/// The body of `POST /api/v1/dtma/credentials`.
struct HandoutBody: Decodable, Sendable {
    let ticket: String
}

/// A hand-out as the DTMA receives it.
struct HandoutView: Encodable, Sendable {
    let agentID: String
    let instanceID: String
    let capability: String
    let requestID: String
    let credentialID: String
    let credentialType: String
    let credentials: JSONValue

    init(_ grant: CredentialHandout.Grant, credentials: JSONValue) {
        agentID = grant.binding.agentID.text
        instanceID = grant.binding.instanceID.text
        capability = grant.binding.capability
        requestID = grant.binding.requestID
        credentialID = grant.credentialID.text
        credentialType = grant.credentialType
        self.credentials = credentials
    }

    enum CodingKeys: String, CodingKey {
        case capability, credentials
        case agentID = "agent_id"
        case instanceID = "instance_id"
        case requestID = "request_id"
        case credentialID = "credential_id"
        case credentialType = "credential_type"
    }
}

/// An enrollment's answer: the toolbox and its token, for the agent only.
struct EnrollmentView: Encodable, Sendable {
    let toolboxID: String
    let token: String

    enum CodingKeys: String, CodingKey {
        case token
        case toolboxID = "toolbox_id"
    }
}

import Foundation
import Storage

/// A toolbox as the API shows it (never its token).
struct ToolboxView: Codable, Sendable {
    let id: String
    let userID: String
    let name: String
    let provider: String
    let status: String
    let statusDetail: String?
    let currentOperation: String?
    let reachability: String
    let region: String?
    let sizeSlug: String?
    let dropletID: Int64?
    let publicIPAddress: String?
    /// The agentbox version its DTMA runs, and when its last heartbeat arrived.
    let agentVersion: String?
    let lastHeartbeatAt: String?
    let createdAt: String
    let updatedAt: String

    init(_ toolbox: AccountToolEnvironment) {
        id = toolbox.id.text
        userID = toolbox.userID.text
        name = toolbox.name
        provider = toolbox.provider.rawValue
        status = toolbox.status.rawValue
        statusDetail = toolbox.statusDetail
        currentOperation = toolbox.currentOperation
        reachability = toolbox.reachability.rawValue
        region = toolbox.region
        sizeSlug = toolbox.sizeSlug
        dropletID = toolbox.dropletID
        publicIPAddress = toolbox.publicIPAddress
        agentVersion = toolbox.agentVersion
        lastHeartbeatAt = toolbox.lastHeartbeatAt?.text
        createdAt = toolbox.createdAt.text
        updatedAt = toolbox.updatedAt.text
    }

    enum CodingKeys: String, CodingKey {
        case id, name, provider, status, reachability, region
        case userID = "user_id"
        case statusDetail = "status_detail"
        case currentOperation = "current_operation"
        case sizeSlug = "size_slug"
        case dropletID = "droplet_id"
        case publicIPAddress = "public_ip_address"
        case agentVersion = "agent_version"
        case lastHeartbeatAt = "last_heartbeat_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// The body of `POST /api/v1/toolboxes` (`provider` defaults to `local`) and `PATCH /api/v1/toolboxes/{id}`;
/// `null` is refused for every field.
struct ToolboxBody: Decodable, Sendable {
    let name: String?
    let provider: String?
    /// A DigitalOcean toolbox's region and droplet size.
    let region: String?
    let size: String?

    enum CodingKeys: String, CodingKey {
        case name, provider, region, size
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeUnlessAbsent(String.self, forKey: .name)
        provider = try container.decodeUnlessAbsent(String.self, forKey: .provider)
        region = try container.decodeUnlessAbsent(String.self, forKey: .region)
        size = try container.decodeUnlessAbsent(String.self, forKey: .size)
    }
}

/// The body of `POST /api/v1/toolboxes/{id}/resize`.
struct ResizeBody: Decodable, Sendable {
    let size: String
}

/// What `POST /api/v1/toolboxes/{id}/reenroll` answers: the enrollment script, shown once.
struct ReenrollmentView: Codable, Sendable {
    let toolboxID: String
    let expiresAt: String
    let script: String

    enum CodingKeys: String, CodingKey {
        case toolboxID = "toolbox_id"
        case expiresAt = "expires_at"
        case script
    }
}

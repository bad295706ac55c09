import Foundation
import Storage

/// An agent's access to a toolbox as the API shows it.
struct ToolboxAccessView: Codable, Sendable {
    let id: String
    let agentID: String
    let toolboxID: String
    let grantedAt: String

    init(_ access: AgentToolboxAccess) {
        id = access.id.text
        agentID = access.agentID.text
        toolboxID = access.accountToolEnvironmentID.text
        grantedAt = access.grantedAt.text
    }

    enum CodingKeys: String, CodingKey {
        case id
        case agentID = "agent_id"
        case toolboxID = "toolbox_id"
        case grantedAt = "granted_at"
    }
}

/// A toolbelt item as the API shows it.
struct ToolbeltItemView: Codable, Sendable {
    let id: String
    let agentID: String
    let instanceID: String
    let isActive: Bool
    let createdAt: String
    let updatedAt: String

    init(_ item: AgentToolbeltItem) {
        id = item.id.text
        agentID = item.agentID.text
        instanceID = item.accountToolInstanceID.text
        isActive = item.isActiveForAgent
        createdAt = item.createdAt.text
        updatedAt = item.updatedAt.text
    }

    enum CodingKeys: String, CodingKey {
        case id
        case agentID = "agent_id"
        case instanceID = "instance_id"
        case isActive = "is_active"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// A capability permission of a toolbelt item as the API shows it.
struct CapabilityPermissionView: Codable, Sendable {
    let id: String
    let toolbeltItemID: String
    let capability: String
    let isAllowed: Bool
    let createdAt: String
    let updatedAt: String

    init(_ permission: AgentToolCapabilityPermission) {
        id = permission.id.text
        toolbeltItemID = permission.agentToolbeltItemID.text
        capability = permission.capabilityName
        isAllowed = permission.isAllowed
        createdAt = permission.createdAt.text
        updatedAt = permission.updatedAt.text
    }

    enum CodingKeys: String, CodingKey {
        case id, capability
        case toolbeltItemID = "toolbelt_item_id"
        case isAllowed = "is_allowed"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// The body of `POST /api/v1/agents/{id}/toolboxes`.
struct ToolboxAccessBody: Codable, Sendable {
    let toolboxID: String?

    enum CodingKeys: String, CodingKey {
        case toolboxID = "toolbox_id"
    }
}

/// The body of `POST /api/v1/agents/{id}/toolbelt` and `PATCH /api/v1/toolbelt/{id}`.
struct ToolbeltItemBody: Codable, Sendable {
    let instanceID: String?
    let isActive: Bool?

    enum CodingKeys: String, CodingKey {
        case instanceID = "instance_id"
        case isActive = "is_active"
    }
}

/// The body of `PUT /api/v1/toolbelt/{id}/permissions/{capability}`.
struct CapabilityPermissionBody: Codable, Sendable {
    let isAllowed: Bool?

    enum CodingKeys: String, CodingKey {
        case isAllowed = "is_allowed"
    }
}

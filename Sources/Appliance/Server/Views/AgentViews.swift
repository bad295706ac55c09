import Foundation
import Storage

/// An agent as the API shows it.
struct AgentView: Codable, Sendable {
    let id: String
    let userID: String
    let name: String
    let description: String?
    let createdAt: String
    let updatedAt: String

    init(_ agent: Agent) {
        id = agent.id.text
        userID = agent.userID.text
        name = agent.name
        description = agent.description
        createdAt = agent.createdAt.text
        updatedAt = agent.updatedAt.text
    }

    enum CodingKeys: String, CodingKey {
        case id, name, description
        case userID = "user_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// The body of `POST /api/v1/agents` and `PATCH /api/v1/agents/{id}`.
struct AgentBody: Codable, Sendable {
    let name: String?
    let description: String?
}

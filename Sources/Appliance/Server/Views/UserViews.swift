import Foundation
import Services
import Storage

/// A user as the API shows it.
struct UserView: Codable, Sendable {
    let id: String
    let name: String
    let role: String
    let createdAt: String
    let updatedAt: String

    init(_ user: User) {
        id = user.id.text
        name = user.name
        role = user.role.rawValue
        createdAt = user.createdAt.text
        updatedAt = user.updatedAt.text
    }

    enum CodingKeys: String, CodingKey {
        case id, name, role
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// The body of `POST /api/v1/users`.
struct CreateUserBody: Codable, Sendable {
    let name: String
    let role: UserRole?
}

/// A new user and its first token, shown once.
struct CreatedUserView: Codable, Sendable {
    let user: UserView
    let token: IssuedTokenView
}

/// Who the caller is (`GET /api/v1/me`).
struct MeView: Codable, Sendable {
    let kind: String
    let id: String
    let name: String
    let role: String?

    init(_ principal: Principal) {
        switch principal {
        case .user(let user): (kind, id, name, role) = ("user", user.id.text, user.name, user.role.rawValue)
        case .agent(let agent): (kind, id, name, role) = ("agent", agent.id.text, agent.name, nil)
        case .toolbox(let toolbox): (kind, id, name, role) = ("toolbox", toolbox.id.text, toolbox.name, nil)
        }
    }
}

import Storage

/// A stored registry login as the API shows it: never its password.
struct RegistryView: Codable, Sendable {
    let id: String
    let registry: String
    let username: String
    let createdAt: String
    let updatedAt: String

    init(_ credential: RegistryCredential) {
        id = credential.id.text
        registry = credential.registry
        username = credential.username
        createdAt = credential.createdAt.text
        updatedAt = credential.updatedAt.text
    }

    enum CodingKeys: String, CodingKey {
        case id, registry, username
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// The body of `POST /api/v1/registries`.
struct RegistryBody: Decodable, Sendable {
    let registry: String
    let username: String
    let password: String
}

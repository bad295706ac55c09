import Storage

/// The stored DigitalOcean token as the API shows it: its account, never the token.
struct DigitalOceanAccountView: Codable, Sendable {
    let provider: String
    let apiURL: String
    let accountEmail: String?
    let accountUUID: String?
    let validatedAt: String
    let updatedAt: String

    init(_ credential: CloudCredential, apiURL: String) {
        provider = credential.provider
        self.apiURL = apiURL
        accountEmail = credential.accountEmail
        accountUUID = credential.accountUUID
        validatedAt = credential.validatedAt.text
        updatedAt = credential.updatedAt.text
    }

    enum CodingKeys: String, CodingKey {
        case provider
        case apiURL = "api_url"
        case accountEmail = "account_email"
        case accountUUID = "account_uuid"
        case validatedAt = "validated_at"
        case updatedAt = "updated_at"
    }
}

/// The body of `PUT /api/v1/admin/digitalocean/token`.
struct DigitalOceanTokenBody: Decodable, Sendable {
    let token: String
}

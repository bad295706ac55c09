import DigitalOcean
import Foundation
import Storage
import Vault

/// The appliance's DigitalOcean API token (admins): checked against `/v2/account` before it is kept, sealed by the
/// vault (bound to its row and provider), never shown again, and opened only to build a ``DigitalOceanClient``.
public struct DigitalOceanAccountService: Sendable {
    static let provider = "digitalocean"

    let database: AppDatabase
    let vault: Vault
    let audit: AuditLog
    /// The API's base URL: DigitalOcean's, or a stand-in's on loopback.
    public let apiURL: String

    /// The place the token's sealed value is bound to.
    static func context(_ credential: CloudCredential) -> SealContext {
        SealContext(table: CloudCredential.databaseTableName, rowID: credential.id.text, owners: ["provider": credential.provider])
    }

    /// Checks `token` against the API and keeps it (sealed) in place of any earlier one.
    public func setToken(_ token: String, by principal: Principal) async throws -> CloudCredential {
        _ = try principal.requireAdmin()
        let token = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, token.utf8.count <= 512, token.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0.value < 127 }) else {
            throw ServiceError(.invalidRequest, "the DigitalOcean token must be 1 to 512 printable ASCII characters without spaces")
        }
        let account = try await Self.check(DigitalOceanClient(token: token, baseURL: apiURL, retry: RetryPolicy(attempts: 2)))
        return try await database.transaction { [audit, vault] tx in
            var credential = try tx.cloudCredential(provider: Self.provider) ?? CloudCredential(provider: Self.provider, encryptedToken: Data())
            let action = credential.encryptedToken.isEmpty ? "digitalocean.token_set" : "digitalocean.token_replace"
            let now = Timestamp.now()
            credential.accountEmail = account.email
            credential.accountUUID = account.uuid
            credential.validatedAt = now
            credential.updatedAt = now
            credential.encryptedToken = Data(vault.seal(Array(token.utf8), for: Self.context(credential)))
            if action == "digitalocean.token_set" { try tx.insert(credential) } else { try tx.update(credential) }
            try audit.append(Self.event(principal, action, credential), in: tx)
            return credential
        }
    }

    /// The stored token's account and when it was last accepted, or nil when none is stored.
    public func status(by principal: Principal) async throws -> CloudCredential? {
        _ = try principal.requireAdmin()
        return try await database.snapshot { tx in try tx.cloudCredential(provider: Self.provider) }
    }

    /// Forgets the token.
    public func forget(by principal: Principal) async throws {
        _ = try principal.requireAdmin()
        try await database.transaction { [audit] tx in
            guard let credential = try tx.cloudCredential(provider: Self.provider) else {
                throw ServiceError(.notFound, "no DigitalOcean token is stored")
            }
            try tx.delete(CloudCredential.self, id: credential.id)
            try audit.append(Self.event(principal, "digitalocean.token_forget", credential), in: tx)
        }
    }

    /// A client with the stored token; `unavailable` with how to fix it when none is stored.
    public func client() async throws -> DigitalOceanClient {
        let token = try await database.snapshot { [vault] tx -> SecureBytes? in
            guard let credential = try tx.cloudCredential(provider: Self.provider) else { return nil }
            return try vault.open(Array(credential.encryptedToken), for: Self.context(credential))
        }
        guard let token else {
            throw ServiceError(
                .unavailable, "no DigitalOcean token is stored; an admin sets one with: agentbox digitalocean set-token", reason: "digitalocean_token_missing")
        }
        return DigitalOceanClient(token: token.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }, baseURL: apiURL)
    }

    /// The token's account, as the API answers; DigitalOcean's refusal or silence as a service error.
    static func check(_ client: DigitalOceanClient) async throws -> Account {
        do {
            return try await client.account()
        } catch {
            throw serviceError(error)
        }
    }

    /// A DigitalOcean failure as the API shows it, with DigitalOcean's words.
    static func serviceError(_ error: DigitalOceanError) -> ServiceError {
        switch error.code {
        case .unauthorized:
            ServiceError(.unprocessable, "DigitalOcean refused the token: \(error.description)", reason: "digitalocean_token_rejected")
        case .unprocessable, .notFound:
            ServiceError(.unprocessable, error.description, reason: "digitalocean_refused")
        default:
            ServiceError(.unavailable, "DigitalOcean cannot be reached now: \(error.description)", reason: "digitalocean_unavailable")
        }
    }

    private static func event(_ principal: Principal, _ action: String, _ credential: CloudCredential) -> AuditEvent {
        AuditEvent(
            actor: principal.auditActor, action: action, targetType: "cloud_credential", targetID: credential.id.text,
            detail: ["provider": credential.provider, "account_email": credential.accountEmail ?? ""])
    }
}

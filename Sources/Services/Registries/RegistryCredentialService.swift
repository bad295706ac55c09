import Foundation
import Storage
import ToolboxProtocol
import Vault

/// Logins for private image registries, kept by admins: the password is sealed by the vault (bound to its row
/// and registry) and opened only to build a pull's `X-Registry-Auth` for the DTMA. Never shown again.
public struct RegistryCredentialService: Sendable {
    let database: AppDatabase
    let vault: Vault
    let audit: AuditLog

    /// The place a registry password's sealed value is bound to.
    static func context(_ credential: RegistryCredential) -> SealContext {
        SealContext(table: RegistryCredential.databaseTableName, rowID: credential.id.uuidString.lowercased(), owners: ["registry": credential.registry])
    }

    /// Stores (or replaces) the login for `registry` (`host[:port]`, as image references start).
    public func set(registry: String, username: String, password: String, by principal: Principal) async throws -> RegistryCredential {
        _ = try principal.requireAdmin()
        let registry = try Self.registry(registry)
        guard !username.isEmpty, username.utf8.count <= 255, !username.contains(":") else {
            throw ServiceError(.invalidRequest, "username must be 1 to 255 bytes without ':'")
        }
        guard !password.isEmpty, password.utf8.count <= 4096 else { throw ServiceError(.invalidRequest, "password must be 1 to 4096 bytes") }
        return try await database.transaction { [audit, vault] tx in
            var credential = try tx.registryCredential(registry: registry)
                ?? RegistryCredential(registry: registry, username: username, encryptedPassword: Data())
            let action = credential.encryptedPassword.isEmpty ? "registry_credential.create" : "registry_credential.replace"
            credential.username = username
            credential.updatedAt = Timestamp.now()
            credential.encryptedPassword = Data(vault.seal(Array(password.utf8), for: Self.context(credential)))
            if action.hasSuffix("create") { try tx.insert(credential) } else { try tx.update(credential) }
            try audit.append(Self.event(principal, action, credential), in: tx)
            return credential
        }
    }

    /// Every stored login (without passwords), by registry.
    public func list(by principal: Principal) async throws -> [RegistryCredential] {
        _ = try principal.requireAdmin()
        return try await database.snapshot { tx in try tx.registryCredentials() }
    }

    /// Forgets the login for `registry`.
    public func delete(registry: String, by principal: Principal) async throws {
        _ = try principal.requireAdmin()
        try await database.transaction { [audit] tx in
            guard let credential = try tx.registryCredential(registry: registry) else {
                throw ServiceError(.notFound, "no login is stored for registry \(registry)")
            }
            try tx.delete(RegistryCredential.self, id: credential.id)
            try audit.append(Self.event(principal, "registry_credential.delete", credential), in: tx)
        }
    }

    /// The login for the registry an image comes from, opened, or nil when none is stored.
    static func login(forImage image: String, vault: Vault, in tx: Transaction) throws -> RegistryLogin? {
        guard let credential = try tx.registryCredential(registry: ImageReference.registry(of: image)) else { return nil }
        let password = try vault.open(Array(credential.encryptedPassword), for: context(credential))
        return RegistryLogin(
            serverAddress: credential.registry, username: credential.username,
            password: password.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
    }

    /// A registry as image references name it: a host (letters, digits, '.', '-'), optionally `:port`.
    static func registry(_ value: String) throws -> String {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        let hostOK = parts.first.map { !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") } } ?? false
        let portOK = parts.count == 1 || (parts.count == 2 && Int(parts[1]).map { (1...65535).contains($0) } == true)
        guard hostOK, portOK, value.utf8.count <= 255 else {
            throw ServiceError(.invalidRequest, "registry must be a host with an optional port, as image references start, e.g. registry.example.com:5000 (not '\(value)')")
        }
        return value.lowercased()
    }

    private static func event(_ principal: Principal, _ action: String, _ credential: RegistryCredential) -> AuditEvent {
        AuditEvent(
            actor: principal.auditActor, action: action, targetType: "registry_credential", targetID: credential.id.uuidString.lowercased(),
            detail: ["registry": credential.registry, "username": credential.username])
    }
}

import DigitalOcean
import Foundation
import Storage

/// Who may create local toolboxes, which share the appliance's own Docker engine.
public enum LocalToolboxPolicy: String, Sendable, CaseIterable {
    case everyone
    case admins
}

/// Toolboxes: hosts that run tool containers, each owned by the user who created it (admins see all).
public struct ToolboxService: Sendable {
    let database: AppDatabase
    let tokens: TokenService
    let audit: AuditLog
    /// Who may create local toolboxes (the admin's choice, `serve --local-toolboxes`).
    let localToolboxes: LocalToolboxPolicy
    /// The local Docker engine, asked before a local toolbox is created; nil skips the check (no DTMA runs here).
    let engine: DockerProbe?
    let signals: ToolboxSignals
    /// The DigitalOcean account, asked for its regions and sizes before a DigitalOcean toolbox is created.
    let digitalOcean: DigitalOceanAccountService
    /// The URL droplets call home to (`serve --public-url`).
    let publicURL: String?

    /// What may change on a toolbox.
    public struct Changes: Sendable {
        public var name: String?

        public init(name: String? = nil) {
            self.name = name
        }
    }

    /// Creates a toolbox owned by the calling user, with its toolbox token (kept for its host agent, never shown here).
    ///
    /// `provider` is `local` (the appliance's own Docker engine: active at once) or `digitalocean` (a droplet of
    /// `size` in `region`, both checked against DigitalOcean's live lists; provisioned in the background).
    public func create(name: String, provider: String, region: String? = nil, size: String? = nil, by principal: Principal) async throws
        -> AccountToolEnvironment
    {
        let owner = try principal.requireUser()
        let name = try Validation.name(name)
        guard let provider = ToolboxProvider(rawValue: provider) else {
            let known = ToolboxProvider.allCases.map(\.rawValue).joined(separator: " or ")
            throw ServiceError(.invalidRequest, "provider must be \(known)")
        }
        var toolbox: AccountToolEnvironment
        switch provider {
        case .digitalocean:
            guard let region, let size else {
                throw ServiceError(.invalidRequest, "a digitalocean toolbox needs a region and a size, e.g. region nyc3 and size s-1vcpu-1gb")
            }
            try Self.checkPublicURL(publicURL, api: digitalOcean.apiURL)
            try await Self.checkPlacement(region: region, size: size, digitalOcean)
            toolbox = AccountToolEnvironment(
                userID: owner.id, name: name, region: region, sizeSlug: size, status: .pendingProvision, provider: provider, reachability: .unknown)
            toolbox.statusDetail = "waiting to create the droplet"
        case .local:
            try await checkLocal(owner)
            toolbox = AccountToolEnvironment(userID: owner.id, name: name, status: .active, provider: provider, reachability: .unknown)
        }
        return try await database.transaction { [tokens, audit, toolbox] tx in
            var toolbox = try tx.insert(toolbox)
            let issued = try tokens.issue(.toolbox(toolbox.id), name: "toolbox \(toolbox.id.uuidString.lowercased())", in: tx)
            toolbox.dtmaBearerTokenID = issued.record.id
            try tx.update(toolbox)
            try audit.append(Self.event(principal, "toolbox.create", toolbox, detail: ["provider": provider.rawValue]), in: tx)
            return toolbox
        }
    }

    /// The address droplets call home to: set, and https unless DigitalOcean is a stand-in on this machine (then the
    /// "droplets" are too). Plain HTTP would carry enrollment and tool calls in the clear.
    static func checkPublicURL(_ publicURL: String?, api: String) throws {
        guard let publicURL else {
            throw ServiceError(
                .unprocessable,
                "droplets call the appliance home at its public URL: start serve with --public-url https://HOST:PORT, and --tls (or a reverse proxy with a real certificate)",
                reason: "public_url_missing")
        }
        let local = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(URLComponents(string: api)?.host ?? "")
        guard publicURL.hasPrefix("https://") || local else {
            throw ServiceError(
                .unprocessable, "the public URL \(publicURL) is plain HTTP; droplets are reached over TLS only: use https (serve --tls, or a reverse proxy)",
                reason: "public_url_insecure")
        }
    }

    /// A region and a size that DigitalOcean offers together now; refusals list what would do.
    static func checkPlacement(region: String, size: String, _ digitalOcean: DigitalOceanAccountService) async throws {
        let client = try await digitalOcean.client()
        let regions: [Region]
        let sizes: [Size]
        do {
            (regions, sizes) = (try await client.regions(), try await client.sizes())
        } catch {
            throw DigitalOceanAccountService.serviceError(error)
        }
        let open = regions.filter(\.available).map(\.slug).sorted()
        guard open.contains(region) else {
            throw ServiceError(.unprocessable, "region '\(region)' is not one DigitalOcean offers now; available: \(open.joined(separator: ", "))")
        }
        let fitting = sizes.filter { $0.available && $0.regions.contains(region) }.map(\.slug)
        guard fitting.contains(size) else {
            throw ServiceError(.unprocessable, "size '\(size)' is not offered in \(region) now; offered there: \(fitting.joined(separator: ", "))")
        }
    }

    /// The checks before a local toolbox: who may, and an engine that answers.
    private func checkLocal(_ owner: User) async throws {
        guard localToolboxes == .everyone || owner.role == .admin else {
            throw ServiceError(.forbidden, "on this appliance only admins may create local toolboxes (serve --local-toolboxes admins); ask an admin")
        }
        if let engine {
            do {
                try await engine.ping()
            } catch {
                throw ServiceError(
                    .unavailable,
                    "the Docker engine at \(engine.socketPath) does not answer (\(error.message)): local toolboxes run their tools on it. "
                        + "Start it (e.g. systemctl start docker), or give serve --docker-socket; then create the toolbox again")
            }
        }
    }

    /// A toolbox the principal may see (archived ones stay readable).
    public func get(_ id: UUID, by principal: Principal) async throws -> AccountToolEnvironment {
        _ = try principal.requireUser()
        return try await database.snapshot { tx in try Self.visible(id, to: principal, in: tx) }
    }

    /// The principal's toolboxes (all for an admin), oldest first, optionally filtered.
    public func list(
        userID: UUID?, status: ToolboxStatus?, provider: ToolboxProvider?, name: String?, page: PageRequest, by principal: Principal
    ) async throws -> Page<AccountToolEnvironment> {
        let scope = try principal.ownerScope()
        if let scope, let userID, userID != scope { return Page(items: [], total: 0) }
        return try await database.snapshot { tx in
            try tx.accountToolEnvironments(userID: scope ?? userID, status: status, provider: provider, name: name, page: page)
        }
    }

    /// Renames a toolbox.
    public func update(_ id: UUID, _ changes: Changes, by principal: Principal) async throws -> AccountToolEnvironment {
        _ = try principal.requireUser()
        let name = try changes.name.map { try Validation.name($0) }
        return try await database.transaction { [audit] tx in
            var toolbox = try Self.visible(id, to: principal, in: tx)
            if let name { toolbox.name = name }
            toolbox.updatedAt = Timestamp.now()
            try tx.update(toolbox)
            try audit.append(Self.event(principal, "toolbox.update", toolbox), in: tx)
            return toolbox
        }
    }

    /// Asks for a DigitalOcean toolbox's droplet to be resized to `size` (offered in its region): the provisioner powers
    /// it off, resizes it and powers it on, with `current_operation` `resizing` and `status_detail` saying each step.
    public func resize(_ id: UUID, to size: String, by principal: Principal) async throws -> AccountToolEnvironment {
        _ = try principal.requireUser()
        let toolbox = try await database.snapshot { tx in try Self.visible(id, to: principal, in: tx) }
        guard toolbox.provider == .digitalocean, toolbox.dropletID != nil, [.provisioning, .active, .error].contains(toolbox.status) else {
            throw ServiceError(
                .invalidState, "only a DigitalOcean toolbox with a droplet (provisioning, active or error) can be resized; toolbox \(toolbox.name) is \(toolbox.provider.rawValue), \(toolbox.status.rawValue)")
        }
        guard toolbox.currentOperation == nil else {
            throw ServiceError(.conflict, "toolbox \(toolbox.name) is busy \(toolbox.currentOperation ?? ""); wait until it is done")
        }
        try await Self.checkPlacement(region: toolbox.region ?? "", size: size, digitalOcean)
        return try await database.transaction { [audit] tx in
            var row = try Self.visible(id, to: principal, in: tx)
            guard row.currentOperation == nil else { throw ServiceError(.conflict, "toolbox \(row.name) is busy \(row.currentOperation ?? "")") }
            let from = row.sizeSlug ?? ""
            row.sizeSlug = size
            row.currentOperation = "resizing"
            row.statusDetail = "resizing from \(from) to \(size): waiting to power the droplet off"
            row.updatedAt = Timestamp.now()
            try tx.update(row)
            try audit.append(Self.event(principal, "toolbox.resize", row, detail: ["from": from, "to": size]), in: tx)
            return row
        }
    }

    /// Deprovisions a toolbox: refused (409, naming them) while instances exist unless `cascade`, which deletes
    /// them first (with their toolbelt items, permissions and credentials). A local toolbox whose instances have
    /// no container left is archived at once; otherwise it stays `deprovisioning`, its instances `pending_delete`,
    /// until its DTMA has removed the containers, and is archived then. Its toolbox token is revoked on archiving;
    /// the row stays, readable, and takes no new instances.
    public func deprovision(_ id: UUID, cascade: Bool, by principal: Principal) async throws -> AccountToolEnvironment {
        _ = try principal.requireUser()
        let toolbox = try await database.transaction { [audit] tx in
            var toolbox = try Self.visible(id, to: principal, in: tx)
            try ToolboxStatusMachine.transition(from: toolbox.status, to: .pendingDeprovision)
            let instances = try tx.accountToolInstances(accountToolEnvironmentID: toolbox.id)
            var containers = 0
            if !instances.isEmpty {
                guard cascade else {
                    let names = InstanceService.describe(Page(items: Array(instances.prefix(10)), total: instances.count))
                    throw ServiceError(
                        .conflict,
                        "toolbox \(toolbox.name) still has \(instances.count) instance(s): \(names); delete them first, or ask for cascade=true")
                }
                for instance in instances {
                    var instance = instance
                    let hasContainer = InstanceService.mayHaveContainer(instance.statusOnToolbox)
                    if instance.statusOnToolbox != .pendingDelete && instance.statusOnToolbox != .deleting {
                        try InstanceService.move(&instance, to: .pendingDelete, by: principal, audit: audit, in: tx)
                    }
                    if hasContainer { containers += 1 } else { try InstanceService.remove(instance, by: principal, audit: audit, in: tx) }
                }
            }
            try Self.move(&toolbox, to: .pendingDeprovision, by: principal, audit: audit, in: tx)
            try Self.move(&toolbox, to: .deprovisioning, by: principal, audit: audit, in: tx)
            try audit.append(Self.event(principal, "toolbox.deprovision", toolbox, detail: ["cascade": String(cascade)]), in: tx)
            // A droplet is deleted by the DigitalOcean provisioner first; a local toolbox with no container is done.
            if containers == 0 && toolbox.provider == .local { try Self.finishDeprovision(&toolbox, by: principal, audit: audit, in: tx) }
            return toolbox
        }
        if toolbox.status == .deprovisioning { signals.changed(toolbox.id) }
        return toolbox
    }

    /// Archives a deprovisioning toolbox whose containers are gone and revokes its toolbox token.
    static func finishDeprovision(_ toolbox: inout AccountToolEnvironment, by principal: Principal, audit: AuditLog, in tx: Transaction) throws {
        try move(&toolbox, to: .archived, by: principal, audit: audit, in: tx)
        if let tokenID = toolbox.dtmaBearerTokenID, var token = try tx.fetch(APIToken.self, id: tokenID), token.revokedAt == nil {
            token.revokedAt = Timestamp.now()
            try tx.update(token)
            try audit.append(
                AuditEvent(
                    actor: principal.auditActor, action: "token.revoke", targetType: "api_token", targetID: token.id.uuidString.lowercased(),
                    detail: ["toolbox_id": toolbox.id.uuidString.lowercased()]), in: tx)
        }
    }

    // MARK: - Rules

    /// A toolbox the principal may see, or "not found" exactly as for a missing one.
    static func visible(_ id: UUID, to principal: Principal, in tx: Transaction) throws -> AccountToolEnvironment {
        guard let toolbox = try tx.fetch(AccountToolEnvironment.self, id: id), principal.owns(toolbox.userID) else {
            throw ServiceError(.notFound, "no toolbox has id \(id.uuidString.lowercased())")
        }
        return toolbox
    }

    /// Changes a toolbox's status through the state machine, saving and auditing it.
    static func move(
        _ toolbox: inout AccountToolEnvironment, to status: ToolboxStatus, by principal: Principal, audit: AuditLog, in tx: Transaction
    ) throws {
        let from = toolbox.status
        try ToolboxStatusMachine.transition(from: from, to: status)
        toolbox.status = status
        toolbox.updatedAt = Timestamp.now()
        try tx.update(toolbox)
        try audit.append(event(principal, "toolbox.status", toolbox, detail: ["from": from.rawValue, "to": status.rawValue]), in: tx)
    }

    /// An audit record about a toolbox, naming it.
    static func event(_ principal: Principal, _ action: String, _ toolbox: AccountToolEnvironment, detail: [String: String] = [:]) -> AuditEvent {
        AuditEvent(
            actor: principal.auditActor, action: action, targetType: "account_tool_environment", targetID: toolbox.id.uuidString.lowercased(),
            detail: detail.merging(["name": toolbox.name], uniquingKeysWith: { mine, _ in mine }))
    }
}

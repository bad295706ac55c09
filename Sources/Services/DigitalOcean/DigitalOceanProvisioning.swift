import DigitalOcean
import Foundation
import Storage
import Synchronization
import ToolboxProtocol

/// The lifecycle of DigitalOcean toolboxes (flow 2 of ARCHITECTURE.md), one resumable step at a time:
///
/// ```
/// pending_provision -> provisioning: the droplet is created with the toolbox's own tag (found again by it, never
///     created twice), then waited for until it is `active` AND has its public IPv4 (recorded), then its agent has
///     until the enrollment time-out to enroll, or the toolbox turns `error`. A placement that fails turns `error`.
/// deprovisioning: every droplet with the tag is deleted, and the toolbox is archived once the tag lists none.
/// ```
/// Each step reads the toolbox's row and DigitalOcean afresh, so a restart at any point carries on where it stopped.
/// `status_detail` and `current_operation` say what is happening.
public struct DigitalOceanProvisioning: Sendable {
    let database: AppDatabase
    let audit: AuditLog
    let tokens: TokenService
    let account: DigitalOceanAccountService
    /// Where droplets call home (`serve --public-url`), and the appliance's TLS key pin when it has its own certificate.
    let publicURL: String?
    let pin: String?
    /// How long a droplet's agent has to enroll after the droplet was asked for.
    public var enrollmentTimeout: Duration
    /// How long a droplet may answer 404 after its creation before the placement counts as failed.
    public var placementGrace: Duration
    /// The droplet image: stock Debian 12.
    public var image = "debian-12-x64"
    /// The create action of each droplet this process asked for (lost on restart, when the grace decides instead),
    /// and the enrollment token minted for each droplet still to be created (memory is its only copy).
    private let memory = ProvisioningMemory()

    public init(
        database: AppDatabase, audit: AuditLog, tokens: TokenService, account: DigitalOceanAccountService, publicURL: String?, pin: String?,
        enrollmentTimeout: Duration, placementGrace: Duration
    ) {
        self.database = database
        self.audit = audit
        self.tokens = tokens
        self.account = account
        self.publicURL = publicURL
        self.pin = pin
        self.enrollmentTimeout = enrollmentTimeout
        self.placementGrace = placementGrace
    }

    /// The tag that marks a toolbox's droplet, unique to the toolbox.
    public static func tag(of toolboxID: UUID) -> String { "agentbox-toolbox-\(toolboxID.text)" }

    /// The DigitalOcean toolboxes that have a step to take: being provisioned, deprovisioned or resized.
    public func pending() async throws -> [UUID] {
        try await database.snapshot { tx in
            try tx.accountToolEnvironments(provider: .digitalocean, statuses: [.pendingProvision, .provisioning, .active, .error, .deprovisioning])
                .filter { $0.currentOperation == Self.resizing || [.pendingProvision, .provisioning, .deprovisioning].contains($0.status) }
                .map(\.id)
        }
    }

    /// `current_operation` while a droplet is resized.
    static let resizing = "resizing"

    /// Takes the next step of one toolbox; DigitalOcean's failures are noted on the toolbox and retried by the next step.
    public func advance(_ id: UUID) async throws {
        guard let toolbox = try await database.fetchAccountToolEnvironment(id: id), toolbox.provider == .digitalocean else { return }
        let client: DigitalOceanClient
        do {
            client = try await account.client()
        } catch let error as ServiceError {
            return try await note(id, detail: error.message)
        }
        do {
            if toolbox.currentOperation == Self.resizing, toolbox.status != .deprovisioning, let dropletID = toolbox.dropletID {
                return try await resize(toolbox, droplet: Int(dropletID), client)
            }
            switch toolbox.status {
            case .pendingProvision:
                try await change(id, to: .provisioning, detail: "creating the droplet", operation: "provisioning")
            case .provisioning:
                try await provision(toolbox, client)
            case .deprovisioning:
                try await deprovision(toolbox, client)
            default:
                return
            }
        } catch let error as DigitalOceanError {
            try await note(id, detail: "DigitalOcean: \(error.description); trying again")
        }
    }

    private func provision(_ toolbox: AccountToolEnvironment, _ client: DigitalOceanClient) async throws {
        let tag = Self.tag(of: toolbox.id)
        guard let dropletID = toolbox.dropletID else {
            guard let publicURL else {
                return try await note(toolbox.id, detail: "waiting for the appliance's public URL: start serve with --public-url")
            }
            let request = DropletRequest(
                name: Self.dropletName(toolbox), region: toolbox.region ?? "", size: toolbox.sizeSlug ?? "", image: image, tags: [tag, "agentbox"],
                userData: try CloudConfig.userData(
                    toolboxID: toolbox.id, applianceURL: publicURL, pin: pin, enrollmentToken: try await enrollmentToken(for: toolbox.id)))
            let (droplet, actionID) = try await client.ensureDroplet(request, tag: tag)
            memory.created(toolbox.id, action: actionID)
            Failpoint.afterDropletCreate.reach()
            return try await update(toolbox.id) { row in
                row.dropletID = Int64(droplet.id)
                row.statusDetail = "droplet \(droplet.id) is being created"
            }
        }
        if toolbox.publicIPAddress == nil {
            // Until the droplet is up, a droplet of a create whose answer was lost (before a restart, or listed late)
            // may still surface under the tag: only the recorded one stays.
            try await client.deleteDroplets(tag: tag, except: Int(dropletID))
            let age = Date().timeIntervalSince(toolbox.createdAt)
            guard let droplet = try await client.droplet(Int(dropletID)) else {
                // A droplet just accepted may answer 404 for a while: a failed create action, or a long silence, says it is gone.
                let action = memory.action(of: toolbox.id)
                var failed = false
                if let action { failed = try await client.action(action).status == "errored" }
                guard failed || age > Double(placementGrace.wholeMilliseconds) / 1000, try await client.droplets(tag: tag).isEmpty else { return }
                return try await change(
                    toolbox.id, to: .error,
                    detail: "DigitalOcean could not place droplet \(dropletID) in \(toolbox.region ?? "its region"): it is gone; deprovision this toolbox and create another, perhaps in another region or size",
                    operation: nil)
            }
            guard droplet.isReady, let address = droplet.publicIPv4 else {
                let detail = "droplet \(droplet.id) is \(droplet.status)" + (droplet.status == "active" ? ", waiting for its public address" : "")
                return try await note(toolbox.id, detail: detail)
            }
            return try await update(toolbox.id) { row in
                row.publicIPAddress = address
                row.statusDetail = "droplet \(droplet.id) is up at \(address); waiting for its agent to enroll"
            }
        }
        if Date().timeIntervalSince(toolbox.createdAt) > Double(enrollmentTimeout.wholeMilliseconds) / 1000 {
            try await change(
                toolbox.id, to: .error,
                detail: "the agent on droplet \(dropletID) (\(toolbox.publicIPAddress ?? "")) did not enroll and send its first heartbeat within \(enrollmentTimeout.wholeMilliseconds / 1000) s",
                operation: nil)
        }
    }

    /// One step of a resize to the toolbox's `size_slug`: power off, resize, power on, done. A droplet busy with
    /// another action is waited for; a resize DigitalOcean refuses ends the operation with its reason.
    private func resize(_ toolbox: AccountToolEnvironment, droplet id: Int, _ client: DigitalOceanClient) async throws {
        let target = toolbox.sizeSlug ?? ""
        guard let droplet = try await client.droplet(id) else {
            return try await finishResize(toolbox.id, size: nil, detail: "the resize stopped: droplet \(id) is gone")
        }
        if droplet.sizeSlug == target && droplet.status == "active" {
            return try await finishResize(toolbox.id, size: target, detail: "resized to \(target)")
        }
        if droplet.locked == true { return try await note(toolbox.id, detail: "resizing to \(target): droplet \(id) is busy, waiting") }
        do {
            switch (droplet.sizeSlug == target, droplet.status) {
            case (false, "off"):
                _ = try await client.act(on: id, .resize(size: target, disk: false))
                try await note(toolbox.id, detail: "resizing droplet \(id) to \(target)")
            case (false, _):
                _ = try await client.act(on: id, .powerOff)
                try await note(toolbox.id, detail: "powering droplet \(id) off to resize it to \(target)")
            default:
                _ = try await client.act(on: id, .powerOn)
                try await note(toolbox.id, detail: "powering droplet \(id) on at \(target)")
            }
        } catch let error as DigitalOceanError where error.code == .unprocessable && error.message.contains("pending") {
            try await note(toolbox.id, detail: "resizing to \(target): droplet \(id) is busy, waiting")
        } catch let error as DigitalOceanError where error.code == .unprocessable {
            try await finishResize(toolbox.id, size: droplet.sizeSlug, detail: "DigitalOcean refused the resize: \(error.description)")
        }
    }

    /// Ends a resize: the size the droplet has, and what happened.
    private func finishResize(_ id: UUID, size: String?, detail: String) async throws {
        try await update(id) { row in
            if let size { row.sizeSlug = size }
            row.currentOperation = nil
            row.statusDetail = detail
        }
    }

    private func deprovision(_ toolbox: AccountToolEnvironment, _ client: DigitalOceanClient) async throws {
        let tag = Self.tag(of: toolbox.id)
        try await client.deleteDroplets(tag: tag)
        // A droplet agentbox did not create (imported from the hosted stack) lacks agentbox's tag: it goes by its id.
        var untagged: Droplet?
        if let dropletID = toolbox.dropletID, let droplet = try await client.droplet(Int(dropletID)), !(droplet.tags ?? []).contains(tag) {
            try await client.deleteDroplet(droplet.id)
            untagged = try await client.droplet(droplet.id)
        }
        Failpoint.afterDropletDelete.reach()
        let left = try await client.droplets(tag: tag) + (untagged.map { [$0] } ?? [])
        guard left.isEmpty else { return try await note(toolbox.id, detail: "waiting for DigitalOcean to delete \(left.count) droplet(s)") }
        try await database.transaction { [audit] tx in
            guard var row = try tx.fetch(AccountToolEnvironment.self, id: toolbox.id), row.status == .deprovisioning else { return }
            // The provisioner acts for the toolbox, as its DTMA does for a local one.
            for instance in try tx.accountToolInstances(accountToolEnvironmentID: row.id) {
                try InstanceService.remove(instance, by: .toolbox(row), audit: audit, in: tx)
            }
            row.statusDetail = "droplet deleted (the tag \(tag) lists none)"
            row.currentOperation = nil
            try ToolboxService.finishDeprovision(&row, by: .toolbox(row), audit: audit, in: tx)
        }
    }

    /// A shell script that enrolls agentbox's agent on the running droplet of an active DigitalOcean toolbox, in place
    /// of whatever agent it runs (the hosted stack's, after `agentbox import postgres`, or a broken one). It carries
    /// a new single-use enrollment token that expires with the enrollment time-out; audited as `toolbox.reenroll`.
    public func reenrollment(_ id: UUID, by principal: Principal) async throws -> (script: String, expiresAt: Date) {
        _ = try principal.requireUser()
        let expires = Date().addingTimeInterval(Double(enrollmentTimeout.wholeMilliseconds) / 1000)
        let issued = try await database.transaction { [tokens, audit, publicURL] tx in
            let toolbox = try ToolboxService.visible(id, to: principal, in: tx)
            guard toolbox.provider == .digitalocean, toolbox.status == .active, toolbox.dropletID != nil else {
                throw ServiceError(
                    .conflict,
                    "toolbox \(toolbox.name) is a \(toolbox.provider.rawValue) toolbox in status \(toolbox.status.rawValue): only an active DigitalOcean toolbox's droplet can enroll an agent again")
            }
            guard publicURL != nil else {
                throw ServiceError(.unavailable, "the appliance has no public URL for droplets to call home to: start serve with --public-url")
            }
            let issued = try tokens.issue(.enrollment(id), name: "re-enrollment of toolbox \(id.text)", expiresAt: expires, in: tx)
            try audit.append(ToolboxService.event(principal, "toolbox.reenroll", toolbox, detail: ["token_id": issued.record.id.text]), in: tx)
            return issued
        }
        let script = try CloudConfig.script(toolboxID: id, applianceURL: publicURL ?? "", pin: pin, enrollmentToken: issued.token, expiresAt: expires)
        return (script, expires)
    }

    /// The single-use enrollment token for the droplet of `id`: minted once per droplet to create (by this process),
    /// expiring with the enrollment time-out, kept only as its hash in the tokens table.
    private func enrollmentToken(for id: UUID) async throws -> String {
        if let token = memory.token(of: id) { return token }
        let expires = Date().addingTimeInterval(Double(enrollmentTimeout.wholeMilliseconds) / 1000)
        let issued = try await database.transaction { [tokens] tx in
            try tokens.issue(.enrollment(id), name: "enrollment of toolbox \(id.text)", expiresAt: expires, in: tx)
        }
        memory.keep(issued.token, for: id)
        return issued.token
    }

    // MARK: - Writing the row

    /// Moves the toolbox to `status` (audited), with what to show.
    private func change(_ id: UUID, to status: ToolboxStatus, detail: String, operation: String?) async throws {
        try await database.transaction { [audit] tx in
            guard var row = try tx.fetch(AccountToolEnvironment.self, id: id) else { return }
            row.statusDetail = detail
            row.currentOperation = operation
            try ToolboxService.move(&row, to: status, by: .toolbox(row), audit: audit, in: tx)
        }
    }

    /// Says what is happening, when it changed.
    private func note(_ id: UUID, detail: String) async throws {
        try await update(id) { $0.statusDetail = detail }
    }

    private func update(_ id: UUID, _ change: @escaping @Sendable (inout AccountToolEnvironment) -> Void) async throws {
        try await database.transaction { tx in
            guard var row = try tx.fetch(AccountToolEnvironment.self, id: id) else { return }
            let before = row
            change(&row)
            guard row != before else { return }
            row.updatedAt = Timestamp.now()
            try tx.update(row)
        }
    }

    /// `agentbox-<name>-<8 of id>`, within DigitalOcean's name pattern.
    static func dropletName(_ toolbox: AccountToolEnvironment) -> String {
        let name = toolbox.name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }
        return "agentbox-\(String(name.prefix(40)))-\(toolbox.id.text.prefix(8))"
    }
}

/// What the provisioner remembers per toolbox between steps: the create action of its droplet, and the enrollment
/// token minted for a droplet not created yet (forgotten once it is).
final class ProvisioningMemory: Sendable {
    private let state = Mutex<(actions: [UUID: Int], tokens: [UUID: String])>(([:], [:]))

    func action(of id: UUID) -> Int? { state.withLock { $0.actions[id] } }
    func token(of id: UUID) -> String? { state.withLock { $0.tokens[id] } }
    func keep(_ token: String, for id: UUID) { state.withLock { $0.tokens[id] = token } }

    /// The droplet exists: its token went into its user-data; remember its create action when this process made it.
    func created(_ id: UUID, action: Int?) {
        state.withLock { state in
            state.tokens[id] = nil
            if let action { state.actions[id] = action }
        }
    }
}

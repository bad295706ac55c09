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
    let account: DigitalOceanAccountService
    /// How long a droplet's agent has to enroll after the droplet was asked for.
    public var enrollmentTimeout: Duration
    /// How long a droplet may answer 404 after its creation before the placement counts as failed.
    public var placementGrace: Duration
    /// The droplet image: stock Debian 12.
    public var image = "debian-12-x64"
    /// The create action of each droplet this process asked for (lost on restart, when the grace decides instead).
    private let createActions = CreateActions()

    public init(database: AppDatabase, audit: AuditLog, account: DigitalOceanAccountService, enrollmentTimeout: Duration, placementGrace: Duration) {
        self.database = database
        self.audit = audit
        self.account = account
        self.enrollmentTimeout = enrollmentTimeout
        self.placementGrace = placementGrace
    }

    /// The tag that marks a toolbox's droplet, unique to the toolbox.
    public static func tag(of toolboxID: UUID) -> String { "agentbox-toolbox-\(toolboxID.text)" }

    /// The DigitalOcean toolboxes that have a step to take.
    public func pending() async throws -> [UUID] {
        try await database.snapshot { tx in
            try tx.accountToolEnvironments(provider: .digitalocean, statuses: [.pendingProvision, .provisioning, .deprovisioning]).map(\.id)
        }
    }

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
            let request = DropletRequest(
                name: Self.dropletName(toolbox), region: toolbox.region ?? "", size: toolbox.sizeSlug ?? "", image: image, tags: [tag, "agentbox"],
                userData: "#cloud-config\n")
            let (droplet, actionID) = try await client.ensureDroplet(request, tag: tag)
            if let actionID { createActions.withLock { $0[toolbox.id] = actionID } }
            Failpoint.afterDropletCreate.reach()
            return try await update(toolbox.id) { row in
                row.dropletID = Int64(droplet.id)
                row.statusDetail = "droplet \(droplet.id) is being created"
            }
        }
        if toolbox.publicIPAddress == nil {
            let age = Date().timeIntervalSince(toolbox.createdAt)
            guard let droplet = try await client.droplet(Int(dropletID)) else {
                // A droplet just accepted may answer 404 for a while: a failed create action, or a long silence, says it is gone.
                let action = createActions.withLock { $0[toolbox.id] }
                var failed = false
                if let action { failed = try await client.action(action).status == "errored" }
                guard failed || age > Self.seconds(placementGrace), try await client.droplets(tag: tag).isEmpty else { return }
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
        if Date().timeIntervalSince(toolbox.createdAt) > Self.seconds(enrollmentTimeout) {
            try await change(
                toolbox.id, to: .error,
                detail: "the agent on droplet \(dropletID) (\(toolbox.publicIPAddress ?? "")) did not enroll within \(Int(Self.seconds(enrollmentTimeout))) s",
                operation: nil)
        }
    }

    private func deprovision(_ toolbox: AccountToolEnvironment, _ client: DigitalOceanClient) async throws {
        let tag = Self.tag(of: toolbox.id)
        try await client.deleteDroplets(tag: tag)
        Failpoint.afterDropletDelete.reach()
        let left = try await client.droplets(tag: tag)
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

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Toolbox id to the id of its droplet's create action.
final class CreateActions: Sendable {
    private let actions = Mutex<[UUID: Int]>([:])

    func withLock<R: Sendable>(_ body: (inout [UUID: Int]) -> R) -> R {
        actions.withLock { body(&$0) }
    }
}

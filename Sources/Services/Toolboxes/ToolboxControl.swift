import Foundation
import Storage
import ToolboxProtocol
import Vault

/// The backend's side of the backend-to-DTMA protocol: the desired state of a toolbox, read from the
/// database, and the ingestion of its agent's heartbeat, which moves each instance through the
/// instance state machine. Used in-process for local toolboxes; the HTTP transport for droplets will
/// call the same two functions.
public struct ToolboxControl: Sendable {
    let database: AppDatabase
    let vault: Vault
    let audit: AuditLog
    /// Desired-state changes, for the DTMA side to act on at once.
    public let signals: ToolboxSignals

    public init(database: AppDatabase, vault: Vault, audit: AuditLog, signals: ToolboxSignals) {
        self.database = database
        self.vault = vault
        self.audit = audit
        self.signals = signals
    }

    /// The ids of the toolboxes whose DTMA runs inside this process: active local toolboxes, and deprovisioning
    /// ones until their containers are gone; oldest first.
    public func activeLocalToolboxIDs() async throws -> [UUID] {
        try await database.snapshot { tx in try tx.accountToolEnvironments(provider: .local, statuses: [.active, .deprovisioning]).map(\.id) }
    }

    /// Stores what a toolbox's DTMA did to instances' containers; events of instances that are gone, or (when
    /// `toolboxID` names the reporting toolbox) on another toolbox, are dropped.
    public func record(_ events: [InstanceEvent], from toolboxID: UUID? = nil) async throws {
        try await database.transaction { tx in
            var known: [UUID: Bool] = [:]
            for event in events {
                let id = event.accountToolInstanceID
                if known[id] == nil {
                    let instance = try tx.fetch(AccountToolInstance.self, id: id)
                    known[id] = instance != nil && (toolboxID == nil || instance?.accountToolEnvironmentID == toolboxID)
                }
                if known[id] == true { try tx.append(event) }
            }
        }
    }

    /// What the toolbox should run: `pending_deploy`, `deploying` and `running` instances run; `stopped`
    /// and `error` ones do not (an instance in `error` waits for its user to start it again); `pending_delete`
    /// and `deleting` ones must have no container, nor has any instance of a deprovisioning toolbox. Instances
    /// without a leased port are left out. Each carries its image, restart marker, rollback target and, for a
    /// private registry, the login (opened from the vault).
    public func desiredState(_ toolboxID: UUID) async throws -> DesiredState {
        try await database.snapshot { [vault] tx in
            guard let toolbox = try tx.fetch(AccountToolEnvironment.self, id: toolboxID) else {
                throw ServiceError(.notFound, "no toolbox has id \(toolboxID.uuidString.lowercased())")
            }
            let leaving = !ToolboxStatusMachine.acceptsInstances(toolbox.status)
            var tools: [UUID: ToolCatalogEntry] = [:]
            var desired: [DesiredInstance] = []
            for instance in try tx.accountToolInstances(accountToolEnvironmentID: toolboxID) {
                guard let ports = Self.ports(of: instance) else { continue }
                if tools[instance.toolCatalogID] == nil { tools[instance.toolCatalogID] = try tx.fetch(ToolCatalogEntry.self, id: instance.toolCatalogID) }
                guard let tool = tools[instance.toolCatalogID] else { continue }
                let image = instance.imageRef ?? tool.dockerImageURL
                var rollback: Rollback?
                if let version = instance.previousVersion, let previousImage = instance.previousImageRef {
                    rollback = Rollback(version: version, image: previousImage)
                }
                desired.append(
                    DesiredInstance(
                        instanceID: instance.id, name: instance.instanceNameOnToolbox, image: image, version: instance.version,
                        containerPort: ports.container, hostPort: ports.host, memoryMB: tool.memoryLimitMB, cpuLimit: tool.cpuLimit,
                        desired: leaving ? .absent : Self.goal(of: instance.statusOnToolbox), restartRequestedAt: instance.restartRequestedAt,
                        rollback: rollback, registryAuth: try RegistryCredentialService.login(forImage: image, vault: vault, in: tx),
                        checksHealth: tool.protocol == .agentboxV1))
            }
            return DesiredState(toolboxID: toolboxID, instances: desired)
        }
    }

    /// The goal for an instance in `status`.
    static func goal(of status: InstanceStatus) -> DesiredInstance.Goal {
        switch status {
        case .pendingDeploy, .deploying, .running: .running
        case .stopped, .error: .stopped
        case .pendingDelete, .deleting: .absent
        }
    }

    /// Stores a heartbeat in one transaction: each report moves its instance through the state machine
    /// (with Docker's reason in `status_detail` for an `error`; an `absent` report for an instance being
    /// deleted removes its row, its port lease and toolbelt items with it), stamps `last_heartbeat_from_dtma`,
    /// sets the toolbox's reachability from whether its Docker engine answered, keeps its agent's version, note
    /// and heartbeat time, and makes a provisioning droplet's toolbox active. Every change is audited, by the
    /// toolbox. Reports for instances of other toolboxes, or that no longer exist, are ignored.
    public func ingest(_ heartbeat: Heartbeat) async throws {
        try await database.transaction { [audit] tx in
            guard var toolbox = try tx.fetch(AccountToolEnvironment.self, id: heartbeat.toolboxID) else {
                throw ServiceError(.notFound, "no toolbox has id \(heartbeat.toolboxID.uuidString.lowercased())")
            }
            let principal = Principal.toolbox(toolbox)
            for report in heartbeat.instances {
                guard var instance = try tx.fetch(AccountToolInstance.self, id: report.instanceID),
                    instance.accountToolEnvironmentID == toolbox.id
                else { continue }
                if try Self.apply(report, to: &instance, by: principal, audit: audit, in: tx) { continue }
                instance.lastHeartbeatFromDTMA = heartbeat.sentAt
                try tx.update(instance)
            }
            if toolbox.status == .deprovisioning && heartbeat.health.dockerReachable,
                try tx.accountToolInstances(accountToolEnvironmentID: toolbox.id).isEmpty
            {
                try ToolboxService.finishDeprovision(&toolbox, by: principal, audit: audit, in: tx)
            }
            // A droplet's first heartbeat (its agent enrolled to get the token it beats with) makes its toolbox active.
            if toolbox.provider == .digitalocean && toolbox.status == .provisioning {
                toolbox.statusDetail = "its agent enrolled and sent its first heartbeat"
                try ToolboxService.move(&toolbox, to: .active, by: principal, audit: audit, in: tx)
            }
            if let note = heartbeat.agentNote, note != toolbox.statusDetail {
                toolbox.statusDetail = note
                try audit.append(ToolboxService.event(principal, "toolbox.agent_note", toolbox, detail: ["note": note]), in: tx)
            }
            if toolbox.agentVersion != heartbeat.agentVersion {
                try audit.append(
                    ToolboxService.event(principal, "toolbox.agent_version", toolbox, detail: ["from": toolbox.agentVersion ?? "", "to": heartbeat.agentVersion]), in: tx)
                toolbox.agentVersion = heartbeat.agentVersion
            }
            try Self.setReachability(&toolbox, heartbeat.health.dockerReachable ? .reachable : .unreachable, by: principal, audit: audit, in: tx)
            toolbox.lastHeartbeatAt = Timestamp.now()
            try tx.update(toolbox)
        }
    }

    /// Turns every active DigitalOcean toolbox whose DTMA has sent no heartbeat for longer than `grace` unreachable
    /// (audited, once); its next heartbeat turns it reachable again. The ids of the toolboxes it turned.
    @discardableResult
    public func markSilentToolboxesUnreachable(grace: Duration) async throws -> [UUID] {
        let cutoff = Date().addingTimeInterval(-Double(grace.wholeMilliseconds) / 1000)
        return try await database.transaction { [audit] tx in
            var turned: [UUID] = []
            for var toolbox in try tx.accountToolEnvironments(provider: .digitalocean, statuses: [.active])
            where toolbox.reachability != .unreachable && (toolbox.lastHeartbeatAt ?? toolbox.updatedAt) < cutoff {
                try Self.setReachability(&toolbox, .unreachable, by: .toolbox(toolbox), audit: audit, in: tx)
                toolbox.updatedAt = Timestamp.now()
                try tx.update(toolbox)
                turned.append(toolbox.id)
            }
            return turned
        }
    }

    /// Sets a toolbox's reachability, auditing a change; the caller writes the row.
    private static func setReachability(
        _ toolbox: inout AccountToolEnvironment, _ reachability: Reachability, by principal: Principal, audit: AuditLog, in tx: Transaction
    ) throws {
        guard toolbox.reachability != reachability else { return }
        try audit.append(
            ToolboxService.event(principal, "toolbox.reachability", toolbox, detail: ["from": toolbox.reachability.rawValue, "to": reachability.rawValue]), in: tx)
        toolbox.reachability = reachability
        toolbox.updatedAt = Timestamp.now()
    }

    /// Applies one report to its instance; true when the instance's row was removed.
    private static func apply(
        _ report: InstanceReport, to instance: inout AccountToolInstance, by principal: Principal, audit: AuditLog, in tx: Transaction
    ) throws -> Bool {
        let move = { (instance: inout AccountToolInstance, status: InstanceStatus) in
            try InstanceService.move(&instance, to: status, by: principal, audit: audit, in: tx)
        }
        try settleUpgrade(report, of: &instance, by: principal, audit: audit, in: tx)
        switch (report.state, instance.statusOnToolbox) {
        case (.deploying, .pendingDeploy):
            try move(&instance, .deploying)
        case (.running, .pendingDeploy):
            try move(&instance, .deploying)
            instance.statusDetail = nil
            try move(&instance, .running)
        case (.running, .deploying):
            instance.statusDetail = nil
            try move(&instance, .running)
        case (.running, .running):
            // A crash restart that held, or an upgrade's outcome: the note is the toolbox's latest word.
            instance.statusDetail = report.lastError
        case (.restarting, .running), (.restarting, .deploying):
            instance.statusDetail = report.lastError
        case (.error, .pendingDeploy):
            try move(&instance, .deploying)
            instance.statusDetail = report.lastError ?? "the toolbox reported an error without a reason"
            try move(&instance, .error)
        case (.error, .deploying), (.error, .running), (.error, .stopped):
            instance.statusDetail = report.lastError ?? "the toolbox reported an error without a reason"
            try move(&instance, .error)
        case (.error, .pendingDelete):
            try move(&instance, .deleting)
            instance.statusDetail = report.lastError ?? "the toolbox could not remove the container"
            try move(&instance, .error)
        case (.absent, .pendingDelete), (.absent, .deleting):
            try InstanceService.remove(instance, by: principal, audit: audit, in: tx)
            return true
        default:
            // Nothing to record: the report agrees with the status, or it is stale (e.g. `stopped` from a pass
            // that began before the user started the instance again; the next pass starts it).
            break
        }
        return false
    }

    /// Ends an upgrade once the toolbox reports on it: running the new version keeps it; running the old one
    /// (the toolbox rolled back) returns the instance's version and image to the old ones. Audited either way.
    private static func settleUpgrade(
        _ report: InstanceReport, of instance: inout AccountToolInstance, by principal: Principal, audit: AuditLog, in tx: Transaction
    ) throws {
        guard let previous = instance.previousVersion, let reported = report.version, report.state == .running || report.state == .error else {
            return
        }
        let upgraded = instance.version
        if reported == previous {
            instance.version = previous
            instance.imageRef = instance.previousImageRef ?? instance.imageRef
        } else if reported != upgraded {
            return
        }
        instance.previousVersion = nil
        instance.previousImageRef = nil
        instance.updatedAt = Timestamp.now()
        try tx.update(instance)
        let action = reported == previous ? "instance.upgrade_rolled_back" : "instance.upgraded"
        try audit.append(InstanceService.event(principal, action, instance, detail: ["from": previous, "to": upgraded]), in: tx)
    }

    /// The container and host ports of an instance's `port_mapping_json`.
    static func ports(of instance: AccountToolInstance) -> (container: Int, host: Int)? {
        guard let text = instance.portMappingJSON,
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let container = (object["container_port"] as? NSNumber)?.intValue, let host = (object["host_port"] as? NSNumber)?.intValue
        else { return nil }
        return (container, host)
    }
}

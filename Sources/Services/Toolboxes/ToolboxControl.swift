import Foundation
import Storage
import ToolboxProtocol
import Vault

/// The backend's side of the backend-to-DTMA protocol: the desired state of a toolbox, read from the
/// database, and the ingestion of its agent's heartbeat, which moves each instance through the
/// instance state machine. Used in-process for local toolboxes; the HTTP transport for droplets will
/// call the same two functions.
public struct ToolboxControl: Sendable {
    /// How often a heartbeat that changes nothing about an instance stamps its `last_heartbeat_from_dtma` (seconds);
    /// the toolbox's `last_heartbeat_at` is stamped at every beat.
    static let instanceStampInterval: TimeInterval = 60

    let database: AppDatabase
    let vault: Vault
    let audit: AuditLog
    /// Desired-state changes, for the DTMA side to act on at once.
    public let signals: ToolboxSignals
    /// The heartbeat times of beats that change nothing else, written a second at a time.
    public let stamps: HeartbeatStamps

    public init(database: AppDatabase, vault: Vault, audit: AuditLog, signals: ToolboxSignals) {
        self.database = database
        self.vault = vault
        self.audit = audit
        self.signals = signals
        self.stamps = HeartbeatStamps(database: database)
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
    /// With `provider`, a toolbox of another provider is `notFound` too (the local DTMA runs local toolboxes only).
    public func desiredState(_ toolboxID: UUID, provider: ToolboxProvider? = nil) async throws -> DesiredState {
        try await database.snapshot { [vault] tx in
            guard let toolbox = try tx.fetch(AccountToolEnvironment.self, id: toolboxID), provider == nil || toolbox.provider == provider else {
                throw ServiceError(.notFound, "no \(provider.map { "\($0.rawValue) " } ?? "")toolbox has id \(toolboxID.uuidString.lowercased())")
            }
            return try Self.desiredState(of: toolbox, instances: tx.accountToolInstances(accountToolEnvironmentID: toolboxID), vault: vault, in: tx)
        }
    }

    /// The desired state of `toolbox`, whose instance rows are `instances`.
    private static func desiredState(
        of toolbox: AccountToolEnvironment, instances: [AccountToolInstance], vault: Vault, in tx: Transaction
    ) throws -> DesiredState {
        let leaving = !ToolboxStatusMachine.acceptsInstances(toolbox.status)
        var tools: [UUID: ToolCatalogEntry] = [:]
        var logins: [String: RegistryLogin?] = [:]
        var desired: [DesiredInstance] = []
        for instance in instances {
            guard let ports = Self.ports(of: instance) else { continue }
            if tools[instance.toolCatalogID] == nil { tools[instance.toolCatalogID] = try tx.fetch(ToolCatalogEntry.self, id: instance.toolCatalogID) }
            guard let tool = tools[instance.toolCatalogID] else { continue }
            let image = instance.imageRef ?? tool.dockerImageURL
            var rollback: Rollback?
            if let version = instance.previousVersion, let previousImage = instance.previousImageRef {
                rollback = Rollback(version: version, image: previousImage)
            }
            if logins[image] == nil { logins[image] = .some(try RegistryCredentialService.login(forImage: image, vault: vault, in: tx)) }
            desired.append(
                DesiredInstance(
                    instanceID: instance.id, name: instance.instanceNameOnToolbox, image: image, version: instance.version,
                    containerPort: ports.container, hostPort: ports.host, memoryMB: tool.memoryLimitMB, cpuLimit: tool.cpuLimit,
                    desired: leaving ? .absent : Self.goal(of: instance.statusOnToolbox), restartRequestedAt: instance.restartRequestedAt,
                    rollback: rollback, registryAuth: logins[image] ?? nil,
                    checksHealth: tool.protocol == .agentboxV1))
        }
        return DesiredState(toolboxID: toolbox.id, instances: desired)
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
    ///
    /// A quiet beat, which would change nothing but the toolbox's heartbeat time, is judged on a read snapshot and
    /// its time kept in ``stamps`` (soft state): the common beat then costs no commit of its own.
    public func ingest(_ heartbeat: Heartbeat) async throws {
        let now = Timestamp.now()
        if try await database.snapshot({ tx in try Self.quietState(heartbeat, in: tx) != nil }) {
            stamps.record(heartbeat.toolboxID, at: now)
            return
        }
        try await write(heartbeat, at: now)
    }

    /// A droplet's side of the exchange: ingests its heartbeat, then answers with its toolbox's desired state. A
    /// quiet beat's answer comes from the same read snapshot that found it quiet.
    public func exchange(_ heartbeat: Heartbeat) async throws -> DesiredState {
        let now = Timestamp.now()
        let quietAnswer: DesiredState? = try await database.snapshot { [vault] tx in
            guard let (toolbox, instances) = try Self.quietState(heartbeat, in: tx) else { return nil }
            return try Self.desiredState(of: toolbox, instances: instances, vault: vault, in: tx)
        }
        if let quietAnswer {
            stamps.record(heartbeat.toolboxID, at: now)
            return quietAnswer
        }
        try await write(heartbeat, at: now)
        return try await desiredState(heartbeat.toolboxID)
    }

    /// The full path of ``ingest(_:)``: every change of the beat, audited, in one transaction.
    private func write(_ heartbeat: Heartbeat, at now: Date) async throws {
        try await database.transaction { [audit] tx in
            guard var toolbox = try tx.fetch(AccountToolEnvironment.self, id: heartbeat.toolboxID) else {
                throw ServiceError(.notFound, "no toolbox has id \(heartbeat.toolboxID.uuidString.lowercased())")
            }
            let principal = Principal.toolbox(toolbox)
            let instances = Dictionary(
                try tx.accountToolInstances(accountToolEnvironmentID: toolbox.id).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            for report in heartbeat.instances {
                guard let stored = instances[report.instanceID] else { continue }
                var instance = stored
                if try Self.apply(report, to: &instance, by: principal, audit: audit, in: tx) { continue }
                // Soft state (SECURITY.md): a report that changes nothing stamps the row at most once a minute.
                if instance == stored, let stamped = stored.lastHeartbeatFromDTMA,
                    heartbeat.sentAt.timeIntervalSince(stamped) < Self.instanceStampInterval
                {
                    continue
                }
                instance.lastHeartbeatFromDTMA = heartbeat.sentAt
                try tx.update(instance)
            }
            // A local toolbox is done when its DTMA has removed the containers; a droplet's toolbox only when the
            // provisioner has deleted the droplet, whatever its DTMA reports before it goes.
            if toolbox.status == .deprovisioning && toolbox.provider == .local && heartbeat.health.dockerReachable,
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
            toolbox.lastHeartbeatAt = now
            try tx.update(toolbox)
        }
    }

    /// Whether `heartbeat` would change nothing but its toolbox's `last_heartbeat_at`: the toolbox exists, is in no
    /// status a beat moves, keeps its agent's version, note and reachability, and every report it makes is an
    /// instance running as recorded, with the same note, no upgrade to settle and a recent stamp. A narrow subset of
    /// what ``ingest(_:)`` leaves alone: anything else takes the full path. The toolbox and its instance rows when
    /// the beat is quiet; nil otherwise.
    private static func quietState(_ heartbeat: Heartbeat, in tx: Transaction) throws -> (AccountToolEnvironment, [AccountToolInstance])? {
        guard let toolbox = try tx.fetch(AccountToolEnvironment.self, id: heartbeat.toolboxID), toolbox.status == .active,
            toolbox.agentVersion == heartbeat.agentVersion, heartbeat.agentNote == nil || heartbeat.agentNote == toolbox.statusDetail,
            toolbox.reachability == (heartbeat.health.dockerReachable ? .reachable : .unreachable)
        else { return nil }
        let rows = try tx.accountToolInstances(accountToolEnvironmentID: toolbox.id)
        let instances = Dictionary(rows.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let quiet = heartbeat.instances.allSatisfy { report in
            guard let instance = instances[report.instanceID] else { return true }
            guard let stamped = instance.lastHeartbeatFromDTMA else { return false }
            return report.state == .running && instance.statusOnToolbox == .running && report.lastError == instance.statusDetail
                && instance.previousVersion == nil && heartbeat.sentAt.timeIntervalSince(stamped) < instanceStampInterval
        }
        return quiet ? (toolbox, rows) : nil
    }

    /// Turns every active DigitalOcean toolbox whose DTMA has sent no heartbeat for longer than `grace` unreachable
    /// (audited, once); its next heartbeat turns it reachable again. The ids of the toolboxes it turned.
    @discardableResult
    public func markSilentToolboxesUnreachable(grace: Duration) async throws -> [UUID] {
        try await stamps.flush()
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
            // Its note says what it waits for (a registry that is down, pulled again after a back-off).
            try move(&instance, .deploying)
            instance.statusDetail = report.lastError
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
        case (.restarting, .running), (.restarting, .deploying), (.deploying, .deploying), (.deploying, .running):
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
    /// (the toolbox rolled back) returns the instance's version and image to the old ones. Audited either way. A
    /// report of a pass that was asked to run another version (it began before the upgrade was asked) settles nothing.
    private static func settleUpgrade(
        _ report: InstanceReport, of instance: inout AccountToolInstance, by principal: Principal, audit: AuditLog, in tx: Transaction
    ) throws {
        guard let previous = instance.previousVersion, let reported = report.version, report.state == .running || report.state == .error,
            report.desiredVersion == nil || report.desiredVersion == instance.version
        else {
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
    public static func ports(of instance: AccountToolInstance) -> (container: Int, host: Int)? {
        guard let text = instance.portMappingJSON,
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let container = (object["container_port"] as? NSNumber)?.intValue, let host = (object["host_port"] as? NSNumber)?.intValue
        else { return nil }
        return (container, host)
    }
}

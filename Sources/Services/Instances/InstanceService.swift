import Foundation
import JSONSchema
import Storage

/// Tool instances: the desired containers of catalog tools on toolboxes. Creating one records the wish
/// (`pending_deploy`); the toolbox's DTMA makes it real. Visible to the toolbox's owner (admins see all).
public struct InstanceService: Sendable {
    let database: AppDatabase
    let audit: AuditLog
    let ports: PortLeases
    let signals: ToolboxSignals

    /// The longest instance name: it becomes part of a container name.
    public static let nameLimit = 63

    /// What may change on an instance; nil leaves a field as it is, `config: .some(nil)` removes the overrides.
    public struct Changes: Sendable {
        public var name: String?
        public var config: JSONValue??

        public init(name: String? = nil, config: JSONValue?? = nil) {
            self.name = name
            self.config = config
        }
    }

    /// Records the wish to run catalog tool `toolID` on a toolbox, as `name`, with config overrides checked
    /// against the tool's config schema.
    public func create(toolboxID: UUID, toolID: UUID, name: String, config: JSONValue?, by principal: Principal) async throws -> AccountToolInstance {
        _ = try principal.requireUser()
        let name = try Self.name(name)
        let created = try await database.transaction { [audit] tx in
            let toolbox = try ToolboxService.visible(toolboxID, to: principal, in: tx)
            guard ToolboxStatusMachine.acceptsInstances(toolbox.status) else {
                throw ServiceError(.invalidState, "toolbox \(toolbox.name) is \(toolbox.status.rawValue): it takes no new instances")
            }
            guard let tool = try tx.fetch(ToolCatalogEntry.self, id: toolID), tool.isEnabled || principal.isAdmin else {
                throw ServiceError(.unprocessable, "no catalog tool has id \(toolID.uuidString.lowercased())")
            }
            guard tool.isEnabled else {
                throw ServiceError(.unprocessable, "tool \(tool.name) is disabled in the catalog; an admin must enable it before it can be deployed")
            }
            try Self.requireUniqueName(name, on: toolbox, excluding: nil, in: tx)
            let overrides = try Self.config(config, for: tool)
            var instance = AccountToolInstance(
                accountToolEnvironmentID: toolbox.id, toolCatalogID: tool.id, instanceNameOnToolbox: name,
                statusOnToolbox: .pendingDeploy, version: tool.version, baseConfigOverrideJSON: overrides, imageRef: tool.dockerImageURL)
            instance = try tx.insert(instance)
            // The row exists first so the lease can name it; the port is unique per Docker engine.
            let hostPort = try ports.lease(for: instance.id, engine: Self.engine(of: toolbox), in: tx)
            instance.portMappingJSON = JSONValue.object([
                "container_port": .integer(Int64(tool.containerPort)), "host_port": .integer(Int64(hostPort)),
            ]).jsonText
            try tx.update(instance)
            try audit.append(
                Self.event(principal, "instance.create", instance, detail: ["tool_id": tool.id.uuidString.lowercased(), "version": tool.version]), in: tx)
            return instance
        }
        signals.changed(created.accountToolEnvironmentID)
        return created
    }

    /// The Docker engine a toolbox's containers run on: the appliance's own for local toolboxes,
    /// each droplet's own otherwise.
    static func engine(of toolbox: AccountToolEnvironment) -> String {
        toolbox.provider == .local ? PortLeases.localEngine : "toolbox-\(toolbox.id.uuidString.lowercased())"
    }

    /// An instance the principal may see.
    public func get(_ id: UUID, by principal: Principal) async throws -> AccountToolInstance {
        _ = try principal.requireUser()
        return try await database.snapshot { tx in try Self.visible(id, to: principal, in: tx).instance }
    }

    /// The instances on a toolbox the principal may see, by name, optionally filtered.
    public func list(
        toolboxID: UUID, status: InstanceStatus?, toolID: UUID?, name: String?, page: PageRequest, by principal: Principal
    ) async throws -> Page<AccountToolInstance> {
        _ = try principal.requireUser()
        return try await database.snapshot { tx in
            let toolbox = try ToolboxService.visible(toolboxID, to: principal, in: tx)
            return try tx.accountToolInstances(accountToolEnvironmentID: toolbox.id, status: status, toolCatalogID: toolID, name: name, page: page)
        }
    }

    /// Renames an instance or changes its config overrides (checked against the tool's config schema).
    public func update(_ id: UUID, _ changes: Changes, by principal: Principal) async throws -> AccountToolInstance {
        _ = try principal.requireUser()
        let name = try changes.name.map(Self.name)
        return try await database.transaction { [audit] tx in
            var (instance, toolbox) = try Self.visible(id, to: principal, in: tx)
            guard ![.pendingDelete, .deleting].contains(instance.statusOnToolbox) else {
                throw ServiceError(.invalidState, "instance \(instance.instanceNameOnToolbox) is \(instance.statusOnToolbox.rawValue): it can no longer change")
            }
            if let name, name != instance.instanceNameOnToolbox {
                try Self.requireUniqueName(name, on: toolbox, excluding: instance.id, in: tx)
                instance.instanceNameOnToolbox = name
            }
            if let config = changes.config {
                guard let tool = try tx.fetch(ToolCatalogEntry.self, id: instance.toolCatalogID) else {
                    throw ServiceError(.notFound, "the catalog tool of instance \(instance.instanceNameOnToolbox) is gone")
                }
                instance.baseConfigOverrideJSON = try Self.config(config, for: tool)
            }
            instance.updatedAt = Timestamp.now()
            try tx.update(instance)
            try audit.append(Self.event(principal, "instance.update", instance), in: tx)
            return instance
        }
    }

    /// Carries out a user's start, stop or restart: a status change the state machine allows, or a 409 naming both
    /// statuses. A restart of a running instance sets its restart marker: the toolbox restarts a container started before it.
    public func request(_ request: InstanceStatusMachine.Request, _ id: UUID, by principal: Principal) async throws -> AccountToolInstance {
        _ = try principal.requireUser()
        let instance = try await database.transaction { [audit] tx in
            var instance = try Self.visible(id, to: principal, in: tx).instance
            let from = instance.statusOnToolbox
            if let target = try InstanceStatusMachine.target(of: request, from: from) {
                try Self.move(&instance, to: target, by: principal, audit: audit, in: tx)
            } else if request == .restart {
                instance.restartRequestedAt = Timestamp.now()
                instance.updatedAt = Timestamp.now()
                try tx.update(instance)
            }
            try audit.append(Self.event(principal, "instance.\(request.rawValue)", instance, detail: ["from": from.rawValue]), in: tx)
            return instance
        }
        signals.changed(instance.accountToolEnvironmentID)
        return instance
    }

    /// Moves an instance to its catalog tool's current version and image. A running instance keeps running on
    /// its port while its toolbox swaps the container, and returns to the old version if the new one does not
    /// become healthy; a stopped one runs the new version at its next start.
    public func upgrade(_ id: UUID, by principal: Principal) async throws -> AccountToolInstance {
        _ = try principal.requireUser()
        let instance = try await database.transaction { [audit] tx in
            var instance = try Self.visible(id, to: principal, in: tx).instance
            guard [.running, .stopped].contains(instance.statusOnToolbox) else {
                throw ServiceError(
                    .invalidState, "instance \(instance.instanceNameOnToolbox) is \(instance.statusOnToolbox.rawValue); only running or stopped instances upgrade")
            }
            guard instance.previousVersion == nil else {
                throw ServiceError(.invalidState, "instance \(instance.instanceNameOnToolbox) is already upgrading to \(instance.version); wait for it to finish")
            }
            guard let tool = try tx.fetch(ToolCatalogEntry.self, id: instance.toolCatalogID), tool.isEnabled else {
                throw ServiceError(.unprocessable, "the catalog tool of instance \(instance.instanceNameOnToolbox) is disabled: it takes no upgrades")
            }
            let image = instance.imageRef ?? tool.dockerImageURL
            guard tool.version != instance.version || tool.dockerImageURL != image else {
                throw ServiceError(.conflict, "instance \(instance.instanceNameOnToolbox) already runs the catalog's version \(tool.version)")
            }
            let from = instance.version
            if instance.statusOnToolbox == .running {
                instance.previousVersion = from
                instance.previousImageRef = image
                instance.statusDetail = "upgrading from \(from) to \(tool.version)"
            }
            instance.version = tool.version
            instance.imageRef = tool.dockerImageURL
            instance.updatedAt = Timestamp.now()
            try tx.update(instance)
            try audit.append(Self.event(principal, "instance.upgrade", instance, detail: ["from": from, "to": tool.version]), in: tx)
            return instance
        }
        signals.changed(instance.accountToolEnvironmentID)
        return instance
    }

    /// An instance's recent events (what its toolbox did to its container), oldest first; `after` an event id for newer ones only.
    public func events(_ id: UUID, after: Int64?, limit: Int, by principal: Principal) async throws -> [InstanceEvent] {
        _ = try principal.requireUser()
        return try await database.snapshot { tx in
            let instance = try Self.visible(id, to: principal, in: tx).instance
            return try tx.instanceEvents(instanceID: instance.id, after: after, limit: limit)
        }
    }

    /// Which of these instances run a catalog tool that an admin has since disabled (they keep running; new deploys are refused).
    public func disabledTools(among instances: [AccountToolInstance]) async throws -> Set<UUID> {
        let ids = Set(instances.map(\.toolCatalogID))
        guard !ids.isEmpty else { return [] }
        return try await database.snapshot { tx in
            Set(try ids.filter { id in try tx.fetch(ToolCatalogEntry.self, id: id).map { !$0.isEnabled } ?? false })
        }
    }

    /// What a delete did: removed the row at once, or marked the instance for its toolbox to remove.
    public enum Deletion: Sendable {
        case removed
        case pending(AccountToolInstance)
    }

    /// Deletes an instance: `pending_delete` through the state machine; an instance with no container to
    /// stop (`pending_deploy`, `stopped`, `error`) is then removed at once, with its toolbelt items,
    /// permissions and credentials. A running or deploying one waits for its toolbox to remove the container.
    public func delete(_ id: UUID, by principal: Principal) async throws -> Deletion {
        _ = try principal.requireUser()
        let (deletion, toolboxID) = try await database.transaction { [audit] tx in
            var instance = try Self.visible(id, to: principal, in: tx).instance
            let hasContainer = [.deploying, .running].contains(instance.statusOnToolbox)
            try Self.move(&instance, to: .pendingDelete, by: principal, audit: audit, in: tx)
            if hasContainer { return (Deletion.pending(instance), instance.accountToolEnvironmentID) }
            try Self.remove(instance, by: principal, audit: audit, in: tx)
            return (Deletion.removed, instance.accountToolEnvironmentID)
        }
        // A removed row may leave a stopped container behind: its toolbox removes it as an orphan.
        signals.changed(toolboxID)
        return deletion
    }

    // MARK: - Rules

    /// An instance the principal may see (through its toolbox), with that toolbox; "not found" otherwise.
    static func visible(_ id: UUID, to principal: Principal, in tx: Transaction) throws -> (instance: AccountToolInstance, toolbox: AccountToolEnvironment) {
        guard let instance = try tx.fetch(AccountToolInstance.self, id: id),
            let toolbox = try tx.fetch(AccountToolEnvironment.self, id: instance.accountToolEnvironmentID), principal.owns(toolbox.userID)
        else {
            throw ServiceError(.notFound, "no tool instance has id \(id.uuidString.lowercased())")
        }
        return (instance, toolbox)
    }

    /// Whether an instance in `status` may have a container on its toolbox (every status once a deploy began).
    static func mayHaveContainer(_ status: InstanceStatus) -> Bool {
        status != .pendingDeploy
    }

    /// Changes an instance's status through the state machine, saving and auditing it.
    static func move(_ instance: inout AccountToolInstance, to status: InstanceStatus, by principal: Principal, audit: AuditLog, in tx: Transaction) throws {
        let from = instance.statusOnToolbox
        try InstanceStatusMachine.transition(from: from, to: status)
        instance.statusOnToolbox = status
        instance.updatedAt = Timestamp.now()
        try tx.update(instance)
        try audit.append(event(principal, "instance.status", instance, detail: ["from": from.rawValue, "to": status.rawValue]), in: tx)
    }

    /// Takes an instance that has no container (any more) through `deleting` and removes its row; the database
    /// removes its toolbelt items, their permissions and credentials with it.
    static func remove(_ instance: AccountToolInstance, by principal: Principal, audit: AuditLog, in tx: Transaction) throws {
        var instance = instance
        // Whatever happened last (a removal that failed left it in `error`), it is asked to go, then goes.
        if ![.pendingDelete, .deleting].contains(instance.statusOnToolbox) {
            try move(&instance, to: .pendingDelete, by: principal, audit: audit, in: tx)
        }
        if instance.statusOnToolbox != .deleting { try move(&instance, to: .deleting, by: principal, audit: audit, in: tx) }
        try InstanceStatusMachine.remove(from: instance.statusOnToolbox)
        try tx.delete(AccountToolInstance.self, id: instance.id)
        try audit.append(event(principal, "instance.delete", instance), in: tx)
    }

    /// Names and ids of a page of instances, for messages, e.g. `gmail (3f2a...), slack (9c1b...) and 3 more`.
    static func describe(_ page: Page<AccountToolInstance>) -> String {
        let named = page.items.map { "\($0.instanceNameOnToolbox) (\($0.id.uuidString.lowercased()))" }.joined(separator: ", ")
        let more = page.total - page.items.count
        return more > 0 ? "\(named) and \(more) more" : named
    }

    /// An instance name: `[a-z0-9][a-z0-9_.-]*`, at most ``nameLimit`` characters.
    static func name(_ value: String) throws -> String {
        let isStart: (Character) -> Bool = { $0.isASCII && ($0.isLowercase || $0.isNumber) }
        guard let first = value.first, isStart(first), value.count <= nameLimit, value.allSatisfy({ isStart($0) || "_.-".contains($0) }) else {
            throw ServiceError(
                .invalidRequest, "name must start with a lowercase letter or digit and use only a-z, 0-9, '_', '.' or '-' (at most \(nameLimit))")
        }
        return value
    }

    /// Config overrides checked against the tool's config schema, as stored text (nil for none). No config is
    /// checked as `{}`, so a tool whose schema requires settings cannot be deployed without them.
    static func config(_ config: JSONValue?, for tool: ToolCatalogEntry) throws -> String? {
        if let config {
            guard case .object = config else { throw ServiceError(.invalidRequest, "config must be a JSON object") }
        }
        let schema = try CatalogService.configSchema(of: tool)
        let violations = schema.validate(config ?? .object([:]))
        guard violations.isEmpty else {
            throw ServiceError(
                .unprocessable,
                "config does not match the config schema of tool \(tool.name): \(violations.map(\.description).joined(separator: "; "))")
        }
        return config?.jsonText
    }

    private static func requireUniqueName(_ name: String, on toolbox: AccountToolEnvironment, excluding id: UUID?, in tx: Transaction) throws {
        if let other = try tx.accountToolInstance(accountToolEnvironmentID: toolbox.id, named: name, excluding: id) {
            throw ServiceError(
                .conflict, "toolbox \(toolbox.name) already has an instance named \(name) (id \(other.id.uuidString.lowercased()))")
        }
    }

    static func event(_ principal: Principal, _ action: String, _ instance: AccountToolInstance, detail: [String: String] = [:]) -> AuditEvent {
        AuditEvent(
            actor: principal.auditActor, action: action, targetType: "account_tool_instance", targetID: instance.id.uuidString.lowercased(),
            detail: detail.merging(
                ["name": instance.instanceNameOnToolbox, "toolbox_id": instance.accountToolEnvironmentID.uuidString.lowercased()],
                uniquingKeysWith: { mine, _ in mine }))
    }
}

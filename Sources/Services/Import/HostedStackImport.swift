import Foundation
import JSONSchema
import Storage
import Vault

/// Brings a deployment of the hosted stack into agentbox (`agentbox import postgres`): every row that keeps
/// agentbox's rules, with its id; every other row refused with the reason, and every row that refers to a refused
/// or missing one refused with it. One write transaction: all or nothing. A row whose id agentbox has already is
/// left as it is, so a second run imports nothing twice. A dry run is the same run, rolled back.
///
/// Credentials are sealed by agentbox's vault for their new row, agent and toolbelt item inside the transaction,
/// from the guarded plain text the caller read; DigitalOcean toolboxes keep their droplets and are listed for
/// re-enrollment, since the hosted stack's Node.js agent does not speak agentbox's protocol.
public struct HostedStackImport: Sendable {
    let database: AppDatabase
    let sealing: CredentialSealing
    let audit: AuditLog

    public init(database: AppDatabase, vault: Vault) {
        self.database = database
        self.sealing = CredentialSealing(database: database, vault: vault)
        self.audit = AuditLog(vault: vault)
    }

    /// The version a catalog tool without one gets.
    static let defaultVersion = "latest"
    /// The container port a catalog tool gets: the hosted stack's tools served on 8080.
    static let defaultContainerPort = 8_080

    /// Imports `rows`, or with `dryRun` only says what it would do.
    public func run(_ rows: HostedStackRows, dryRun: Bool) async throws -> ImportReport {
        do {
            return try await database.transaction { [sealing, audit] tx in
                var run = ImportRun(rows: rows, tx: tx, sealing: sealing, report: ImportReport(dryRun: dryRun))
                try run.importAll()
                if dryRun { throw DryRunFinished(report: run.report) }
                if run.report.importedCount > 0 {
                    var detail = Dictionary(uniqueKeysWithValues: run.report.imported.map { ($0.key.rawValue, String($0.value)) })
                    detail["refused"] = String(run.report.refused.count)
                    try audit.append(AuditEvent(actor: .system, action: "import.hosted_stack", detail: detail), in: tx)
                }
                return run.report
            }
        } catch let finished as DryRunFinished {
            return finished.report
        }
    }
}

/// Thrown to roll a dry run back, carrying its report.
private struct DryRunFinished: Error {
    let report: ImportReport
}

/// Why one source row is not imported.
private struct Refused: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// One import inside its transaction: the rows in table order, the ids agentbox has after each table, the report.
private struct ImportRun {
    let rows: HostedStackRows
    let tx: Transaction
    let sealing: CredentialSealing
    var report: ImportReport
    /// Ids of each table that refusals name, so that the rows referring to them say why they go too.
    var refusedIDs: [HostedStackTable: Set<String>] = [:]

    typealias Row = HostedStackRows.Row

    mutating func importAll() throws {
        for table in HostedStackTable.allCases {
            var source = rows.tables[table] ?? []
            // The newest credential of an item is the one that stays active if the source has several.
            if table == .credentials { source.sort { Double($0["created_at"] ?? "") ?? 0 > Double($1["created_at"] ?? "") ?? 0 } }
            for row in source {
                let id = row["id"] ?? ""
                do {
                    guard let uuid = UUID(uuidString: id) else { throw Refused("its id is not a UUID") }
                    if try exists(table, uuid) {
                        report.alreadyPresent[table, default: 0] += 1
                        continue
                    }
                    try insert(table, row, id: uuid)
                    report.imported[table, default: 0] += 1
                } catch let refused as Refused {
                    report.refused.append(ImportReport.Refusal(table: table, id: id, reason: refused.reason))
                    refusedIDs[table, default: []].insert(id.lowercased())
                } catch let error as ServiceError {
                    report.refused.append(ImportReport.Refusal(table: table, id: id, reason: error.message))
                    refusedIDs[table, default: []].insert(id.lowercased())
                }
            }
        }
    }

    private func exists(_ table: HostedStackTable, _ id: UUID) throws -> Bool {
        switch table {
        case .users: try tx.fetch(User.self, id: id) != nil
        case .agents: try tx.fetch(Agent.self, id: id) != nil
        case .toolCatalog: try tx.fetch(ToolCatalogEntry.self, id: id) != nil
        case .toolboxes: try tx.fetch(AccountToolEnvironment.self, id: id) != nil
        case .instances: try tx.fetch(AccountToolInstance.self, id: id) != nil
        case .toolboxAccess: try tx.fetch(AgentToolboxAccess.self, id: id) != nil
        case .toolbeltItems: try tx.fetch(AgentToolbeltItem.self, id: id) != nil
        case .permissions: try tx.fetch(AgentToolCapabilityPermission.self, id: id) != nil
        case .credentials: try tx.fetch(AgentToolCredential.self, id: id) != nil
        }
    }

    private mutating func insert(_ table: HostedStackTable, _ row: Row, id: UUID) throws {
        switch table {
        case .users: try insertUser(row, id)
        case .agents: try insertAgent(row, id)
        case .toolCatalog: try insertTool(row, id)
        case .toolboxes: try insertToolbox(row, id)
        case .instances: try insertInstance(row, id)
        case .toolboxAccess: try insertAccess(row, id)
        case .toolbeltItems: try insertItem(row, id)
        case .permissions: try insertPermission(row, id)
        case .credentials: try insertCredential(row, id)
        }
    }

    // MARK: - Tables

    private func insertUser(_ row: Row, _ id: UUID) throws {
        guard let given = row["name"] ?? row["email"] else { throw Refused("it has neither a name nor an email") }
        let name = try Validation.name(given)
        if let other = try tx.user(named: name) { throw Refused("agentbox has another user named \(name) (id \(other.id.text))") }
        let created = try time(row, "created_at") ?? Timestamp.now()
        try tx.insert(User(id: id, name: name, role: .user, createdAt: created, updatedAt: try time(row, "updated_at")))
    }

    private func insertAgent(_ row: Row, _ id: UUID) throws {
        let user = try parent(User.self, row, "user_id", in: .users)
        let name = try Validation.name(row["name"] ?? "")
        if try tx.agents(userID: user.id, name: name, page: PageRequest(limit: 1)).total > 0 {
            throw Refused("user \(user.name) has another agent named \(name)")
        }
        let created = try time(row, "created_at") ?? Timestamp.now()
        try tx.insert(
            Agent(
                id: id, userID: user.id, name: name, description: try Validation.text(row["description"], field: "description"), createdAt: created,
                updatedAt: try time(row, "updated_at")))
    }

    private func insertTool(_ row: Row, _ id: UUID) throws {
        var entry = ToolCatalogEntry(name: "-", dockerImageURL: "-", version: "-", containerPort: HostedStackImport.defaultContainerPort)
        try CatalogService.apply(
            CatalogService.Changes(
                name: row["name"] ?? "", description: .some(row["description"]), dockerImageURL: row["docker_image_url"] ?? "",
                version: row["version"] ?? HostedStackImport.defaultVersion, isEnabled: try flag(row, "is_enabled") ?? true,
                defaultConfigJSONSchema: try json(row, "default_config_json_schema") ?? .object([:]),
                requiredCapabilitiesSchema: try json(row, "required_capabilities_schema") ?? .object([:]),
                requiredSecretsSchema: try json(row, "required_secrets_schema") ?? .object([:])),
            to: &entry)
        if let other = try tx.toolCatalogEntry(named: entry.name) {
            throw Refused("the catalog has another tool named \(entry.name) (id \(other.id.text))")
        }
        entry.id = id
        entry.createdAt = try time(row, "created_at") ?? entry.createdAt
        entry.updatedAt = try time(row, "updated_at") ?? entry.createdAt
        try tx.insert(entry)
    }

    private mutating func insertToolbox(_ row: Row, _ id: UUID) throws {
        let user = try parent(User.self, row, "user_id", in: .users)
        let provider = try enumValue(ToolboxProvider.self, row["provider"] ?? ToolboxProvider.digitalocean.rawValue, "provider")
        var status = try enumValue(ToolboxStatus.self, row["status"], "status")
        var detail = "imported from the hosted stack"
        let dropletID: Int64? = try row["droplet_id"].map {
            guard let number = Int64($0), number > 0 else { throw Refused("droplet_id '\($0)' is not a droplet id") }
            return number
        }
        if provider == .digitalocean {
            switch status {
            case .pendingProvision, .provisioning:
                // agentbox would wait for an enrollment the old agent never makes: say so, and let the owner decide.
                detail = "imported while the hosted stack was provisioning it (status \(status.rawValue)): deprovision it and create it again"
                status = .error
            case .pendingDeprovision, .deprovisioning:
                detail = "imported while the hosted stack was deprovisioning it: agentbox deletes its droplet"
                status = .deprovisioning
            case .active, .error:
                detail = "imported: its droplet runs the hosted stack's Node.js agent; enroll agentbox's agent (agentbox toolbox reenroll \(id.text))"
            case .archived:
                break
            }
        }
        let created = try time(row, "created_at") ?? Timestamp.now()
        let toolbox = AccountToolEnvironment(
            id: id, userID: user.id, dropletID: dropletID, name: try Validation.name(row["name"] ?? ""), region: row["region"],
            sizeSlug: row["size_slug"], status: status, publicIPAddress: row["public_ip_address"].map(Self.address), provider: provider, statusDetail: detail,
            createdAt: created, updatedAt: try time(row, "updated_at"))
        try tx.insert(toolbox)
        if provider == .digitalocean && [.active, .error].contains(status) && dropletID != nil {
            report.reenroll.append(
                ImportReport.Reenrollment(toolboxID: id, name: toolbox.name, dropletID: dropletID, address: toolbox.publicIPAddress))
        }
    }

    private func insertInstance(_ row: Row, _ id: UUID) throws {
        let toolbox = try parent(AccountToolEnvironment.self, row, "account_tool_environment_id", in: .toolboxes)
        let tool = try parent(ToolCatalogEntry.self, row, "tool_catalog_id", in: .toolCatalog)
        let name = try InstanceService.name(row["instance_name_on_toolbox"] ?? "")
        if try tx.accountToolInstance(accountToolEnvironmentID: toolbox.id, named: name) != nil {
            throw Refused("toolbox \(toolbox.name) has another instance named \(name)")
        }
        let ports = try json(row, "port_mapping_json")
        var hostPort: Int?
        if let ports {
            guard case .object(let fields) = ports else { throw Refused("port_mapping_json is not a JSON object") }
            if case .integer(let port)? = fields["host_port"] {
                guard (1...65_535).contains(port) else { throw Refused("port_mapping_json's host_port \(port) is not a port") }
                hostPort = Int(port)
            }
        }
        let config = try json(row, "base_config_override_json")
        if let config, case .object = config {} else if config != nil { throw Refused("base_config_override_json is not a JSON object") }
        let created = try time(row, "created_at") ?? Timestamp.now()
        try tx.insert(
            AccountToolInstance(
                id: id, accountToolEnvironmentID: toolbox.id, toolCatalogID: tool.id, instanceNameOnToolbox: name,
                statusOnToolbox: try enumValue(InstanceStatus.self, row["status_on_toolbox"], "status_on_toolbox"), portMappingJSON: ports?.jsonText,
                lastHeartbeatFromDTMA: try time(row, "last_heartbeat_from_dtma"), version: row["version"] ?? tool.version,
                baseConfigOverrideJSON: config?.jsonText, createdAt: created, updatedAt: try time(row, "updated_at")))
        if let hostPort {
            // The port stays the instance's: agentbox leases it so that no other instance on that engine gets it.
            let engine = InstanceService.engine(of: toolbox)
            guard !(try tx.leasedPorts(engine: engine).contains(hostPort)) else {
                throw Refused("its host port \(hostPort) is taken by another instance on toolbox \(toolbox.name)")
            }
            try tx.insert(PortLease(engine: engine, port: hostPort, accountToolInstanceID: id))
        }
    }

    private func insertAccess(_ row: Row, _ id: UUID) throws {
        let agent = try parent(Agent.self, row, "agent_id", in: .agents)
        let toolbox = try parent(AccountToolEnvironment.self, row, "account_tool_environment_id", in: .toolboxes)
        guard agent.userID == toolbox.userID else { throw Refused("agent \(agent.name) and toolbox \(toolbox.name) belong to different users") }
        if try tx.agentToolboxAccess(agentID: agent.id, toolboxID: toolbox.id) != nil {
            throw Refused("agent \(agent.name) has access to toolbox \(toolbox.name) already (another row)")
        }
        try tx.insert(
            AgentToolboxAccess(id: id, agentID: agent.id, accountToolEnvironmentID: toolbox.id, grantedAt: try time(row, "granted_at") ?? Timestamp.now()))
    }

    private func insertItem(_ row: Row, _ id: UUID) throws {
        let agent = try parent(Agent.self, row, "agent_id", in: .agents)
        let instance = try parent(AccountToolInstance.self, row, "account_tool_instance_id", in: .instances)
        guard try tx.agentToolboxAccess(agentID: agent.id, toolboxID: instance.accountToolEnvironmentID) != nil else {
            throw Refused("agent \(agent.name) has no access to the toolbox of instance \(instance.instanceNameOnToolbox)")
        }
        if try tx.agentToolbeltItem(agentID: agent.id, instanceID: instance.id) != nil {
            throw Refused("agent \(agent.name) has instance \(instance.instanceNameOnToolbox) in its toolbelt already (another row)")
        }
        let created = try time(row, "created_at") ?? Timestamp.now()
        try tx.insert(
            AgentToolbeltItem(
                id: id, agentID: agent.id, accountToolInstanceID: instance.id, isActiveForAgent: try flag(row, "is_active_for_agent") ?? true,
                createdAt: created, updatedAt: try time(row, "updated_at")))
    }

    private func insertPermission(_ row: Row, _ id: UUID) throws {
        let item = try parent(AgentToolbeltItem.self, row, "agent_toolbelt_item_id", in: .toolbeltItems)
        let tool = try ToolbeltService.tool(of: item, in: tx)
        let capability = row["capability_name"] ?? ""
        guard try CapabilityMap(JSONValue(parsing: tool.requiredCapabilitiesSchema)).capabilities[capability] != nil else {
            throw Refused("capability '\(capability)' is not one of tool \(tool.name)'s")
        }
        if try tx.agentToolCapabilityPermission(itemID: item.id, capability: capability) != nil {
            throw Refused("the toolbelt item has a permission for '\(capability)' already (another row)")
        }
        guard let allowed = try flag(row, "is_allowed") else { throw Refused("is_allowed is empty") }
        let created = try time(row, "created_at") ?? Timestamp.now()
        try tx.insert(
            AgentToolCapabilityPermission(
                id: id, agentToolbeltItemID: item.id, capabilityName: capability, isAllowed: allowed, createdAt: created,
                updatedAt: try time(row, "updated_at")))
    }

    private func insertCredential(_ row: Row, _ id: UUID) throws {
        let item = try parent(AgentToolbeltItem.self, row, "agent_toolbelt_item_id", in: .toolbeltItems)
        let tool = try ToolbeltService.tool(of: item, in: tx)
        let type = try CredentialService.credentialType(row["credential_type"] ?? "")
        let status = try enumValue(CredentialStatus.self, row["status"], "status")
        let secretID = (row["encrypted_credentials"] ?? "").lowercased()
        guard let secret = rows.secrets[secretID] else {
            throw Refused("its vault secret '\(secretID)' is not in vault.decrypted_secrets")
        }
        let credentials: JSONValue
        do {
            credentials = try secret.withUnsafeBytes { try JSONValue(parsing: $0) }
        } catch {
            throw Refused("its secret is not a JSON object (agentbox hands out credentials as JSON objects)")
        }
        guard case .object = credentials else { throw Refused("its secret is not a JSON object (agentbox hands out credentials as JSON objects)") }
        try CredentialService.validate(credentials, against: tool)
        if status == .active, let active = try tx.agentToolCredentials(itemID: item.id, statuses: [.active]).first {
            throw Refused("the toolbelt item has a newer active credential (\(active.id.text)); agentbox keeps one active credential per item")
        }
        let identifier = row["account_identifier"]
        let masked = try identifier.flatMap { $0.contains(AccountIdentifierMask.stars) ? $0 : try AccountIdentifierMask.mask($0) }
        let created = try time(row, "created_at") ?? Timestamp.now()
        var credential = AgentToolCredential(
            id: id, agentToolbeltItemID: item.id, credentialType: type, encryptedCredentials: Data(), accountIdentifier: masked,
            lastValidatedAt: try time(row, "last_validated_at"), status: status, createdAt: created, updatedAt: try time(row, "updated_at"))
        credential.encryptedCredentials = sealing.seal(secret, credentialID: id, agentID: item.agentID, itemID: item.id)
        try tx.insert(credential)
    }

    // MARK: - Fields

    /// An address as PostgreSQL's inet type prints a host: without its /32 or /128.
    static func address(_ text: String) -> String {
        text.hasSuffix("/32") || text.hasSuffix("/128") ? String(text[..<(text.lastIndex(of: "/") ?? text.endIndex)]) : text
    }

    /// The row `column` refers to, or a refusal saying whether it was refused or is missing.
    private func parent<Record: StorageRecord>(_ type: Record.Type, _ row: Row, _ column: String, in table: HostedStackTable) throws -> Record {
        let value = row[column] ?? ""
        if refusedIDs[table]?.contains(value.lowercased()) == true { throw Refused("its \(column) \(value) was refused (see that row)") }
        guard let id = UUID(uuidString: value), let record = try tx.fetch(type, id: id) else {
            throw Refused("its \(column) '\(value)' is not in \(table.rawValue): a dangling reference")
        }
        return record
    }

    private func enumValue<Value: RawRepresentable & CaseIterable>(_ type: Value.Type, _ value: String?, _ column: String) throws -> Value
    where Value.RawValue == String {
        guard let value, let parsed = Value(rawValue: value) else {
            throw Refused("\(column) '\(value ?? "")' is not one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return parsed
    }

    private func time(_ row: Row, _ column: String) throws -> Date? {
        guard let text = row[column] else { return nil }
        guard let seconds = Double(text), seconds.isFinite else { throw Refused("\(column) '\(text)' is not a time") }
        return Timestamp.rounded(Date(timeIntervalSince1970: seconds))
    }

    private func flag(_ row: Row, _ column: String) throws -> Bool? {
        switch row[column] {
        case nil: nil
        case "true", "t": true
        case "false", "f": false
        case let other?: throw Refused("\(column) '\(other)' is not a boolean")
        }
    }

    private func json(_ row: Row, _ column: String) throws -> JSONValue? {
        guard let text = row[column] else { return nil }
        do {
            return try JSONValue(parsing: text)
        } catch {
            throw Refused("\(column) is not valid JSON")
        }
    }
}

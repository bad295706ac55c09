import DigitalOcean
import Foundation
import Hummingbird
import JSONSchema
import Services
import Storage

/// The console's pages for toolboxes, instances, agents and toolbelt items: each GET renders from the services,
/// each POST (CSRF-checked by ``Console/posted(_:_:)``) calls one service and redirects to the page that shows it.
extension Console {
    static func registerResources(on router: Router<APIContext>, _ console: Console) {
        router.get("/console/toolboxes") { request, _ in try await console.page(request) { try await console.toolboxesPage($0, error: nil, name: "") } }
        router.post("/console/toolboxes") { request, _ in try await console.posted(request) { try await console.createToolbox($0, $1) } }
        router.get("/console/toolboxes/:id") { request, context in
            try await console.page(request) { try await console.toolboxPage($0, try Self.id(context), error: nil) }
        }
        router.post("/console/toolboxes/:id/instances") { request, context in
            try await console.posted(request) { try await console.deploy($0, try Self.id(context), $1) }
        }
        router.post("/console/toolboxes/:id/deprovision") { request, context in
            try await console.posted(request) { session, form in
                let id = try Self.id(context)
                guard form["confirm"] == "yes" else { return try await console.toolboxPage(session, id, error: "Tick the confirmation to deprovision.") }
                _ = try await console.plane.toolboxes.deprovision(id, cascade: form["cascade"] == "yes", by: session.principal)
                return ConsolePages.redirect("/console/toolboxes/\(id.text)")
            }
        }
        router.get("/console/instances/:id") { request, context in
            try await console.page(request) { try await console.instancePage($0, try Self.id(context)) }
        }
        router.post("/console/instances/:id/:action") { request, context in
            try await console.posted(request) { session, _ in try await console.act(session, try Self.id(context), context.parameters.get("action") ?? "") }
        }
        router.get("/console/agents") { request, _ in try await console.page(request) { try await console.agentsPage($0, error: nil, form: nil) } }
        router.post("/console/agents") { request, _ in
            try await console.posted(request) { session, form in
                do {
                    let agent = try await console.plane.agents.create(name: form["name"] ?? "", description: form.text("description"), by: session.principal)
                    return ConsolePages.redirect("/console/agents/\(agent.id.text)")
                } catch let error as ServiceError where error.code != .forbidden {
                    return try await console.agentsPage(session, error: error.message, form: form)
                }
            }
        }
        router.get("/console/agents/:id") { request, context in
            try await console.page(request) { try await console.agentPage($0, try Self.id(context), newToken: nil, error: nil) }
        }
        router.post("/console/agents/:id/tokens") { request, context in
            try await console.posted(request) { session, _ in
                let id = try Self.id(context)
                let issued = try await console.plane.agents.issueToken(id, name: "console", expiresInSeconds: nil, by: session.principal)
                return try await console.agentPage(session, id, newToken: issued.token, error: nil)
            }
        }
        router.post("/console/agents/:id/tokens/:token/revoke") { request, context in
            try await console.posted(request) { session, _ in
                let id = try Self.id(context)
                try await console.plane.tokens.revoke(try Self.id(context, "token"), by: session.principal)
                return ConsolePages.redirect("/console/agents/\(id.text)")
            }
        }
        router.post("/console/agents/:id/access") { request, context in
            try await console.posted(request) { session, form in
                let id = try Self.id(context)
                guard let toolbox = form["toolbox"].flatMap(UUID.init(uuidString:)) else {
                    return try await console.agentPage(session, id, newToken: nil, error: "Pick a toolbox.")
                }
                _ = try await console.plane.toolbelts.grantAccess(agentID: id, toolboxID: toolbox, by: session.principal)
                return ConsolePages.redirect("/console/agents/\(id.text)")
            }
        }
        router.post("/console/agents/:id/items") { request, context in
            try await console.posted(request) { session, form in
                let id = try Self.id(context)
                guard let instance = form["instance"].flatMap(UUID.init(uuidString:)) else {
                    return try await console.agentPage(session, id, newToken: nil, error: "Pick an instance (grant access to its toolbox first).")
                }
                let item = try await console.plane.toolbelts.addItem(agentID: id, instanceID: instance, isActive: true, by: session.principal)
                return ConsolePages.redirect("/console/toolbelt/\(item.id.text)")
            }
        }
        router.get("/console/toolbelt/:id") { request, context in
            try await console.page(request) { try await console.itemPage($0, try Self.id(context), error: nil, credentialError: nil) }
        }
        router.post("/console/toolbelt/:id/active") { request, context in
            try await console.posted(request) { session, form in
                let id = try Self.id(context)
                _ = try await console.plane.toolbelts.setItemActive(id, form["active"] == "true", by: session.principal)
                return ConsolePages.redirect("/console/toolbelt/\(id.text)")
            }
        }
        router.post("/console/toolbelt/:id/permissions") { request, context in
            try await console.posted(request) { session, form in
                let id = try Self.id(context)
                let allowed = Set(form.all["allow"] ?? [])
                for capability in try Self.capabilities(of: try await console.tool(of: id, session).tool).keys {
                    _ = try await console.plane.toolbelts.setPermission(
                        itemID: id, capability: capability, isAllowed: allowed.contains(capability), by: session.principal)
                }
                return ConsolePages.redirect("/console/toolbelt/\(id.text)")
            }
        }
        router.post("/console/toolbelt/:id/credentials") { request, context in
            try await console.posted(request) { try await console.storeCredential($0, try Self.id(context), $1) }
        }
    }

    /// A path parameter that must be a UUID.
    static func id(_ context: APIContext, _ name: String = "id") throws -> UUID {
        guard let text = context.parameters.get(name), let id = UUID(uuidString: text) else {
            throw ServiceError(.notFound, "there is no such page: \(name) must be an id")
        }
        return id
    }

    private var all: PageRequest { PageRequest(limit: PageRequest.maximumLimit) }

    // MARK: - Toolboxes

    func toolboxesPage(_ session: ConsoleSessions.SignedIn, error: String?, name: String) async throws -> Response {
        let toolboxes = try await plane.toolboxes.list(userID: nil, status: nil, provider: nil, name: nil, page: all, by: session.principal).items
        var values: [String: Any] = [
            "hasToolboxes": !toolboxes.isEmpty, "name": name,
            "toolboxes": toolboxes.map { ["id": $0.id.text, "name": $0.name, "provider": $0.provider.rawValue, "region": $0.region ?? "", "status": $0.status.rawValue] },
        ]
        if let error { values["error"] = error }
        // DigitalOcean's live lists, when the appliance has a token; otherwise why not.
        do {
            let client = try await plane.digitalOcean.client()
            let regions = try await client.regions().filter(\.available)
            let sizes = try await client.sizes().filter(\.available)
            values["digitalOcean"] = true
            values["regions"] = regions.map { ["slug": $0.slug, "name": $0.name] }
            values["sizes"] = sizes.map { ["slug": $0.slug, "description": "\($0.vcpus) vCPU, \($0.memory) MB, \($0.disk) GB"] }
        } catch {
            values["digitalOceanNote"] = "DigitalOcean toolboxes need the appliance's DigitalOcean token (an admin sets it with agentbox digitalocean set-token)."
        }
        return pages.render("toolboxes", title: "Toolboxes", values: values, session: session)
    }

    func createToolbox(_ session: ConsoleSessions.SignedIn, _ form: ConsoleForm) async throws -> Response {
        let provider = form["provider"] ?? "local"
        do {
            let toolbox = try await plane.toolboxes.create(
                name: form["name"] ?? "", provider: provider, region: provider == "local" ? nil : form.text("region"),
                size: provider == "local" ? nil : form.text("size"), by: session.principal)
            return ConsolePages.redirect("/console/toolboxes/\(toolbox.id.text)")
        } catch let error as ServiceError where error.code != .forbidden {
            return try await toolboxesPage(session, error: error.message, name: form["name"] ?? "")
        }
    }

    func toolboxPage(_ session: ConsoleSessions.SignedIn, _ id: UUID, error: String?, instanceName: String = "") async throws -> Response {
        let toolbox = try await plane.toolboxes.get(id, by: session.principal)
        let instances = toolbox.status == .archived
            ? [] : try await plane.instances.list(toolboxID: id, status: nil, toolID: nil, name: nil, page: all, by: session.principal).items
        let tools = try await plane.catalog.list(enabled: true, name: nil, page: all, by: session.principal).items
        let values: [String: Any?] = [
            "id": id.text, "name": toolbox.name, "status": toolbox.status.rawValue, "detail": toolbox.statusDetail, "provider": toolbox.provider.rawValue,
            "region": toolbox.region, "size": toolbox.sizeSlug ?? "", "reachability": toolbox.reachability.rawValue,
            "heartbeat": toolbox.lastHeartbeatAt.map(\.text) ?? "never", "open": ![.archived, .deprovisioning, .pendingDeprovision].contains(toolbox.status),
            "hasInstances": !instances.isEmpty, "error": error, "instanceName": instanceName,
            "instances": instances.map { instance -> [String: Any] in
                ["id": instance.id.text, "name": instance.instanceNameOnToolbox, "status": instance.statusOnToolbox.rawValue, "version": instance.version, "port": Self.port(of: instance)]
            },
            "tools": tools.map { ["id": $0.id.text, "name": $0.name, "version": $0.version] },
        ]
        return pages.render("toolbox", title: "Toolbox \(toolbox.name)", values: Self.present(values), session: session)
    }

    func deploy(_ session: ConsoleSessions.SignedIn, _ toolboxID: UUID, _ form: ConsoleForm) async throws -> Response {
        guard let tool = form["tool"].flatMap(UUID.init(uuidString:)) else {
            return try await toolboxPage(session, toolboxID, error: "Pick a tool (an admin adds them to the catalog).", instanceName: form["name"] ?? "")
        }
        do {
            let instance = try await plane.instances.create(toolboxID: toolboxID, toolID: tool, name: form["name"] ?? "", config: nil, by: session.principal)
            return ConsolePages.redirect("/console/instances/\(instance.id.text)")
        } catch let error as ServiceError where error.code != .forbidden && error.code != .notFound {
            return try await toolboxPage(session, toolboxID, error: error.message, instanceName: form["name"] ?? "")
        }
    }

    /// Where an instance's container is published, or "-".
    static func port(of instance: AccountToolInstance) -> String {
        ToolboxControl.ports(of: instance).map { "127.0.0.1:\($0.host)" } ?? "-"
    }

    // MARK: - Instances

    func instancePage(_ session: ConsoleSessions.SignedIn, _ id: UUID) async throws -> Response {
        let instance = try await plane.instances.get(id, by: session.principal)
        let toolbox = try await plane.toolboxes.get(instance.accountToolEnvironmentID, by: session.principal)
        let events = try await plane.instances.events(id, after: nil, limit: 20, by: session.principal)
        let actions: [(String, String, Bool)] = [("start", "Start", false), ("stop", "Stop", false), ("restart", "Restart", false), ("delete", "Delete", true)]
        let values: [String: Any?] = [
            "id": id.text, "status": instance.statusOnToolbox.rawValue, "detail": instance.statusDetail, "toolboxID": toolbox.id.text, "toolbox": toolbox.name,
            "version": instance.version, "port": Self.port(of: instance),
            "actions": actions.map { ["id": id.text, "action": $0.0, "label": $0.1, "danger": $0.2, "csrf": session.csrf] },
            "events": events.reversed().map { ["at": $0.at.text, "kind": $0.kind, "message": $0.message] },
        ]
        return pages.render("instance", title: "Instance \(instance.instanceNameOnToolbox)", values: Self.present(values), session: session)
    }

    func act(_ session: ConsoleSessions.SignedIn, _ id: UUID, _ action: String) async throws -> Response {
        if action == "delete" {
            let instance = try await plane.instances.get(id, by: session.principal)
            _ = try await plane.instances.delete(id, by: session.principal)
            return ConsolePages.redirect("/console/toolboxes/\(instance.accountToolEnvironmentID.text)")
        }
        guard let request = InstanceStatusMachine.Request(rawValue: action) else {
            throw ServiceError(.notFound, "there is no instance action \(action)")
        }
        _ = try await plane.instances.request(request, id, by: session.principal)
        return ConsolePages.redirect("/console/instances/\(id.text)")
    }

    // MARK: - Agents

    func agentsPage(_ session: ConsoleSessions.SignedIn, error: String?, form: ConsoleForm?) async throws -> Response {
        let agents = try await plane.agents.list(userID: nil, name: nil, page: all, by: session.principal).items
        let values: [String: Any?] = [
            "hasAgents": !agents.isEmpty, "error": error, "name": form?["name"] ?? "", "description": form?["description"] ?? "",
            "agents": agents.map { ["id": $0.id.text, "name": $0.name, "description": $0.description ?? ""] },
        ]
        return pages.render("agents", title: "Agents", values: Self.present(values), session: session, status: error == nil ? .ok : .unprocessableContent)
    }

    func agentPage(_ session: ConsoleSessions.SignedIn, _ id: UUID, newToken: String?, error: String?) async throws -> Response {
        let agent = try await plane.agents.get(id, by: session.principal)
        let tokens = try await plane.tokens.list(page: all, by: session.principal).items.filter { $0.agentID == id }
        let access = try await plane.toolbelts.listAccess(agentID: id, page: all, by: session.principal).items
        let toolboxes = try await plane.toolboxes.list(userID: agent.userID, status: nil, provider: nil, name: nil, page: all, by: session.principal).items
        let granted = Set(access.map(\.accountToolEnvironmentID))
        let names = Dictionary(uniqueKeysWithValues: toolboxes.map { ($0.id, $0.name) })
        var instances: [[String: Any]] = []
        var instanceNames: [UUID: String] = [:]
        for toolbox in toolboxes where granted.contains(toolbox.id) && toolbox.status != .archived {
            for instance in try await plane.instances.list(toolboxID: toolbox.id, status: nil, toolID: nil, name: nil, page: all, by: session.principal).items {
                instances.append(["id": instance.id.text, "name": instance.instanceNameOnToolbox, "toolbox": toolbox.name])
                instanceNames[instance.id] = instance.instanceNameOnToolbox
            }
        }
        let items = try await plane.toolbelts.listItems(agentID: id, isActive: nil, instanceID: nil, page: all, by: session.principal).items
        let values: [String: Any?] = [
            "id": id.text, "description": agent.description, "newToken": newToken, "error": error,
            "tokens": tokens.map { ["id": $0.id.text, "agentID": id.text, "prefix": $0.prefix, "name": $0.name ?? "", "revoked": $0.revokedAt != nil, "csrf": session.csrf] },
            "access": access.map { ["name": names[$0.accountToolEnvironmentID] ?? $0.accountToolEnvironmentID.text] },
            "grantable": toolboxes.filter { !granted.contains($0.id) && $0.status != .archived }.map { ["id": $0.id.text, "name": $0.name] },
            "instances": instances, "hasItems": !items.isEmpty,
            "items": items.map { ["id": $0.id.text, "instance": instanceNames[$0.accountToolInstanceID] ?? $0.accountToolInstanceID.text, "active": $0.isActiveForAgent ? "yes" : "no"] },
        ]
        return pages.render("agent", title: "Agent \(agent.name)", values: Self.present(values), session: session)
    }

    // MARK: - Toolbelt items

    /// The capabilities of a tool: name to description.
    static func capabilities(of tool: ToolCatalogEntry) throws -> [String: String] {
        try CapabilityMap(JSONValue(parsing: tool.requiredCapabilitiesSchema)).capabilities.mapValues(\.description)
    }

    func tool(of itemID: UUID, _ session: ConsoleSessions.SignedIn) async throws -> (item: AgentToolbeltItem, instance: AccountToolInstance, tool: ToolCatalogEntry) {
        let item = try await plane.toolbelts.getItem(itemID, by: session.principal)
        let instance = try await plane.instances.get(item.accountToolInstanceID, by: session.principal)
        let tool = try await plane.catalog.get(instance.toolCatalogID, by: session.principal)
        return (item, instance, tool)
    }

    func itemPage(_ session: ConsoleSessions.SignedIn, _ id: UUID, error: String?, credentialError: String?) async throws -> Response {
        let (item, instance, tool) = try await tool(of: id, session)
        let agent = try await plane.agents.get(item.agentID, by: session.principal)
        let permissions = try await plane.toolbelts.listPermissions(itemID: id, isAllowed: nil, page: all, by: session.principal).items
        let allowed = Set(permissions.filter(\.isAllowed).map(\.capabilityName))
        let credentials = try await plane.credentials.list(itemID: id, status: nil, page: all, by: session.principal).items
        let capabilities = try Self.capabilities(of: tool)
        let values: [String: Any?] = [
            "id": id.text, "agentID": agent.id.text, "agent": agent.name, "instanceID": instance.id.text, "instance": instance.instanceNameOnToolbox,
            "tool": tool.name, "active": item.isActiveForAgent, "toggleTo": item.isActiveForAgent ? "false" : "true",
            "toggleLabel": item.isActiveForAgent ? "Switch off" : "Switch on", "error": error, "credentialError": credentialError,
            "capabilities": capabilities.keys.sorted().map { ["name": $0, "description": capabilities[$0] ?? "", "allowed": allowed.contains($0)] },
            "credentials": credentials.map { ["type": $0.credentialType, "identifier": $0.accountIdentifier ?? "", "status": $0.status.rawValue] },
            "secretFields": Self.secretFields(tool),
        ]
        return pages.render("item", title: "Toolbelt item", values: Self.present(values), session: session)
    }

    /// The string properties of a tool's secrets schema, as form fields; nil when it names none (a JSON box then).
    static func secretFields(_ tool: ToolCatalogEntry) -> [[String: Any]]? {
        guard case .object(let schema)? = try? JSONValue(parsing: tool.requiredSecretsSchema), case .object(let properties)? = schema["properties"],
            !properties.isEmpty
        else { return nil }
        var required: Set<String> = []
        if case .array(let names)? = schema["required"] { for case .string(let name) in names { required.insert(name) } }
        return properties.keys.sorted().map { ["name": $0, "required": required.contains($0)] }
    }

    func storeCredential(_ session: ConsoleSessions.SignedIn, _ id: UUID, _ form: ConsoleForm) async throws -> Response {
        let tool = try await tool(of: id, session).tool
        var credentials: JSONValue
        if let fields = Self.secretFields(tool) {
            var object: [String: JSONValue] = [:]
            for field in fields {
                guard let name = field["name"] as? String, let value = form["secret.\(name)"], !value.isEmpty else { continue }
                object[name] = .string(value)
            }
            credentials = .object(object)
        } else {
            do {
                credentials = try JSONValue(parsing: form["secret_json"] ?? "")
            } catch {
                return try await itemPage(session, id, error: nil, credentialError: "The credentials are not valid JSON (what you typed is not shown again).")
            }
        }
        do {
            _ = try await plane.credentials.create(
                itemID: id, type: form["credential_type"] ?? "", credentials: credentials, accountIdentifier: form.text("account_identifier"), by: session.principal)
        } catch let error as ServiceError where error.code == .unprocessable || error.code == .invalidRequest {
            // The message lists schema violations by pointer and rule, never a value.
            return try await itemPage(session, id, error: nil, credentialError: error.message)
        }
        return ConsolePages.redirect("/console/toolbelt/\(id.text)")
    }
}

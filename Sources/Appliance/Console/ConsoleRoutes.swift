import Foundation
import HTTPTypes
import Hummingbird
import JSONSchema
import NIOCore
import Services
import Storage

/// The web console under `/console`: server-rendered pages over the same services as the API, for a user signed
/// in with a user token (see ``ConsoleSessions``). Every form is checked for its CSRF token before anything else.
struct Console: Sendable {
    let plane: ControlPlane
    let pages: ConsolePages
    let sessions: ConsoleSessions

    /// Every console route, on `router`.
    static func register(on router: Router<APIContext>, plane: ControlPlane, secure: Bool) throws {
        let console = Console(plane: plane, pages: try ConsolePages(), sessions: ConsoleSessions(tokens: plane.tokens, secure: secure))
        router.get("/console") { request, _ in
            ConsolePages.redirect(await console.sessions.signedIn(request) == nil ? "/console/sign-in" : "/console/dashboard")
        }
        router.get("/console/static/:file") { _, context in
            guard let name = context.parameters.get("file"), let file = ConsoleAssets.files[name] else {
                return ConsolePages.response("not found", type: "text/plain; charset=utf-8", status: .notFound)
            }
            return ConsolePages.response(file.body, type: file.type)
        }
        router.get("/console/sign-in") { request, _ in console.signInPage(error: nil, status: .ok) }
        router.post("/console/sign-in") { request, _ in try await console.signIn(request) }
        router.post("/console/sign-out") { request, _ in
            try await console.posted(request) { _, _ in
                ConsolePages.redirect("/console/sign-in", cookies: [console.sessions.setCookie(ConsoleSessions.sessionCookie, "", lifetime: 0)])
            }
        }
        router.get("/console/dashboard") { request, _ in try await console.page(request) { try await console.dashboard($0) } }
        router.get("/console/live") { request, _ in try await console.live(request) }
        router.get("/console/catalog") { request, _ in try await console.page(request) { try await console.catalogPage($0, form: nil) } }
        router.post("/console/catalog") { request, _ in try await console.posted(request) { try await console.addTool($0, $1) } }
        router.get("/console/catalog/:id") { request, context in
            try await console.page(request) { try await console.toolPage($0, try Self.id(context), form: nil) }
        }
        router.post("/console/catalog/:id") { request, context in
            try await console.posted(request) { try await console.updateTool($0, try Self.id(context), $1) }
        }
        router.get("/console/audit") { request, _ in try await console.page(request) { try await console.auditPage($0, request) } }
        registerResources(on: router, console)
    }

    // MARK: - Sessions

    /// A page for a signed-in user; others go to the sign-in page. A service's refusal becomes an error page.
    func page(_ request: Request, _ body: (ConsoleSessions.SignedIn) async throws -> Response) async throws -> Response {
        guard let session = await sessions.signedIn(request) else { return ConsolePages.redirect("/console/sign-in") }
        do {
            return try await body(session)
        } catch let error as ServiceError {
            return problem(error, session: session)
        }
    }

    /// A form posted by a signed-in user, refused (403) unless it carries the session's CSRF token.
    func posted(_ request: Request, _ body: (ConsoleSessions.SignedIn, ConsoleForm) async throws -> Response) async throws -> Response {
        guard let session = await sessions.signedIn(request) else { return ConsolePages.redirect("/console/sign-in") }
        let form = try await ConsoleForm.read(request)
        guard ConsoleSessions.matches(form["csrf"], session.csrf) else { return forged(session) }
        do {
            return try await body(session, form)
        } catch let error as ServiceError {
            return problem(error, session: session)
        }
    }

    func signInPage(error: String?, status: HTTPResponse.Status) -> Response {
        let pre = ConsoleSessions.newPreSession()
        var values: [String: Any] = ["csrf": sessions.csrf(for: pre)]
        if let error { values["error"] = error }
        return pages.render(
            "sign-in", title: "Sign in", values: values, session: nil, status: status,
            cookies: [sessions.setCookie(ConsoleSessions.preSessionCookie, pre, lifetime: 3600)])
    }

    func signIn(_ request: Request) async throws -> Response {
        let form = try await ConsoleForm.read(request)
        guard let pre = ConsoleSessions.cookie(ConsoleSessions.preSessionCookie, in: request),
            ConsoleSessions.matches(form["csrf"], sessions.csrf(for: pre))
        else { return forged(nil) }
        let token = form.text("token")
        var principal: Principal?
        do {
            if let token { principal = try await plane.tokens.authenticate(token, from: RequestSource.address) }
        } catch let error as ServiceError where error.code == .rateLimited {
            return signInPage(error: error.message.prefix(1).uppercased() + error.message.dropFirst() + ".", status: .tooManyRequests)
        } catch {
            principal = nil
        }
        guard let token, let principal, case .user = principal else {
            return signInPage(error: "That is not a valid user token: it may be mistyped, revoked or expired, or belong to an agent.", status: .unauthorized)
        }
        return ConsolePages.redirect(
            "/console/dashboard",
            cookies: [
                sessions.setCookie(ConsoleSessions.sessionCookie, token, lifetime: ConsoleSessions.lifetime),
                sessions.setCookie(ConsoleSessions.preSessionCookie, "", lifetime: 0),
            ])
    }

    /// The answer to a form without its CSRF token (or with another session's).
    private func forged(_ session: ConsoleSessions.SignedIn?) -> Response {
        pages.render(
            "problem", title: "Form refused",
            values: ["message": "This form was refused: it carried no valid CSRF token (it may come from another site, or the server restarted). Reload the page and try again."],
            session: session, status: .forbidden)
    }

    private func problem(_ error: ServiceError, session: ConsoleSessions.SignedIn) -> Response {
        pages.render("problem", title: "Something went wrong", values: ["message": error.message], session: session, status: APIError.status(of: error.code))
    }

    // MARK: - Dashboard

    func dashboard(_ session: ConsoleSessions.SignedIn) async throws -> Response {
        let (toolboxes, counts, _) = try await state(session)
        let events = try await plane.auditEntries(page: PageRequest(limit: 10), by: session.principal).items
        return pages.render(
            "dashboard", title: "Dashboard",
            values: [
                "hasToolboxes": !toolboxes.isEmpty,
                "toolboxes": toolboxes.map { toolbox -> [String: Any] in
                    Self.present([
                        "id": toolbox.id.text, "name": toolbox.name, "provider": toolbox.provider.rawValue, "status": toolbox.status.rawValue,
                        "detail": toolbox.statusDetail, "reachability": toolbox.reachability.rawValue,
                        "heartbeat": toolbox.lastHeartbeatAt.map(\.text) ?? "never",
                    ])
                },
                "instanceCounts": counts.sorted { $0.key < $1.key }.map { ["status": $0.key, "count": $0.value] },
                "hasEvents": !events.isEmpty, "events": events.map(Self.event),
            ],
            session: session)
    }

    /// The statuses the dashboard shows, as JSON for its script.
    func live(_ request: Request) async throws -> Response {
        guard let session = await sessions.signedIn(request) else {
            return ConsolePages.response(#"{"error": "sign in first"}"#, type: "application/json", status: .unauthorized)
        }
        let (toolboxes, counts, statuses) = try await state(session)
        let values: [String: JSONValue] = [
            "toolbox-status": .object(Dictionary(uniqueKeysWithValues: toolboxes.map { ($0.id.text, .string($0.status.rawValue)) })),
            "toolbox-reachability": .object(Dictionary(uniqueKeysWithValues: toolboxes.map { ($0.id.text, .string($0.reachability.rawValue)) })),
            "toolbox-heartbeat": .object(Dictionary(uniqueKeysWithValues: toolboxes.map { ($0.id.text, .string($0.lastHeartbeatAt.map(\.text) ?? "never")) })),
            "instance-count": .object(counts.mapValues { .integer(Int64($0)) }),
            "toolbox-detail": .object(Dictionary(uniqueKeysWithValues: toolboxes.map { ($0.id.text, .string($0.statusDetail ?? "")) })),
            "instance-status": .object(statuses.mapValues { .string($0.status) }),
            "instance-detail": .object(statuses.mapValues { .string($0.detail) }),
        ]
        return ConsolePages.response(JSONValue.object(values).jsonText, type: "application/json")
    }

    /// The user's toolboxes (all for admins), their instances counted by status, and each instance's status.
    private func state(_ session: ConsoleSessions.SignedIn) async throws -> ([AccountToolEnvironment], [String: Int], [String: (status: String, detail: String)]) {
        let toolboxes = try await plane.toolboxes.list(
            userID: nil, status: nil, provider: nil, name: nil, page: PageRequest(limit: PageRequest.maximumLimit), by: session.principal
        ).items
        var counts: [String: Int] = [:]
        var statuses: [String: (status: String, detail: String)] = [:]
        for toolbox in toolboxes where toolbox.status != .archived {
            let instances = try await plane.instances.list(
                toolboxID: toolbox.id, status: nil, toolID: nil, name: nil, page: PageRequest(limit: PageRequest.maximumLimit), by: session.principal)
            for instance in instances.items {
                counts[instance.statusOnToolbox.rawValue, default: 0] += 1
                statuses[instance.id.text] = (instance.statusOnToolbox.rawValue, instance.statusDetail ?? "")
            }
        }
        return (toolboxes, counts, statuses)
    }

    // MARK: - Catalog

    /// The fields of the form that adds or edits a tool: API name, label, hint, whether it is JSON.
    private static let toolFields: [(name: String, label: String, hint: String, multiline: Bool)] = [
        ("name", "Name", "Unique in the catalog.", false),
        ("description", "Description", "What the tool does, for people and agents.", false),
        ("docker_image_url", "Docker image", "e.g. ghcr.io/acme/gmail:1.2.0", false),
        ("version", "Version", "e.g. 1.2.0", false),
        ("container_port", "Container port", "The port the tool serves on inside its container (1 to 65535).", false),
        ("required_capabilities_schema", "Capabilities (JSON)", #"e.g. {"gmail_send": "Send email", "gmail_read": "Read email"}"#, true),
        ("required_secrets_schema", "Secrets schema (JSON Schema)", #"e.g. {"type": "object", "required": ["api_key"], "properties": {"api_key": {"type": "string"}}}"#, true),
        ("default_config_json_schema", "Config schema (JSON Schema)", #"e.g. {"type": "object"}"#, true),
    ]

    /// What the admin typed, what is wrong with it (shown next to the fields), and the checked values.
    struct ToolForm {
        var values: [String: String]
        var errors: [String: String] = [:]
        var general: String?
        var schemas: [String: JSONValue] = [:]
        var port: Int?

        /// Reads and checks the posted form: JSON fields must parse, the port be a number, the required fields be there.
        init(_ posted: ConsoleForm) {
            values = Dictionary(uniqueKeysWithValues: Console.toolFields.map { ($0.name, posted[$0.name] ?? "") })
            for field in Console.toolFields where field.multiline {
                do {
                    schemas[field.name] = try JSONValue(parsing: posted.text(field.name) ?? "{}")
                } catch {
                    errors[field.name] = "This is not valid JSON: \(error.message)"
                }
            }
            port = Int(posted.text("container_port") ?? "")
            if port == nil { errors["container_port"] = "Give a whole number from 1 to 65535." }
            for required in ["name", "docker_image_url", "version"] where posted.text(required) == nil {
                errors[required] = "This field is required."
            }
        }

        init(values: [String: String]) {
            self.values = values
        }

        /// Puts a service's refusal next to the field it names (or above the form).
        mutating func place(_ error: ServiceError) {
            if let field = Console.toolFields.map(\.name).sorted(by: { $0.count > $1.count }).first(where: { error.message.contains($0) }) {
                errors[field] = error.message
            } else if error.message.contains("capabilit") {
                errors["required_capabilities_schema"] = error.message
            } else if error.message.contains("tool named") {
                errors["name"] = error.message
            } else {
                general = error.message
            }
        }

        /// The template values of the form's fields.
        var templateValues: [String: Any] {
            [
                "form": Console.present(["general": general]),
                "fields": Console.toolFields.map { field -> [String: Any] in
                    Console.present([
                        "name": field.name, "label": field.label, "hint": field.hint, "multiline": field.multiline, "value": values[field.name] ?? "",
                        "error": errors[field.name],
                    ])
                },
            ]
        }
    }

    func catalogPage(_ session: ConsoleSessions.SignedIn, form: ToolForm?, status: HTTPResponse.Status = .ok) async throws -> Response {
        let tools = try await plane.catalog.list(enabled: nil, name: nil, page: PageRequest(limit: PageRequest.maximumLimit), by: session.principal).items
        let form = form ?? ToolForm(values: ["container_port": "8080", "default_config_json_schema": #"{"type": "object"}"#])
        var values = form.templateValues
        values["tools"] = tools.map { tool -> [String: Any] in
            let capabilities = (try? JSONValue(parsing: tool.requiredCapabilitiesSchema)).flatMap { value -> String? in
                guard case .object(let map) = value else { return nil }
                return map.keys.sorted().joined(separator: ", ")
            }
            return [
                "id": tool.id.text, "name": tool.name, "description": tool.description ?? "", "image": tool.dockerImageURL, "version": tool.version,
                "capabilities": capabilities ?? "", "enabled": tool.isEnabled ? "yes" : "no",
            ]
        }
        return pages.render("catalog", title: "Tool catalog", values: values, session: session, status: status)
    }

    func addTool(_ session: ConsoleSessions.SignedIn, _ posted: ConsoleForm) async throws -> Response {
        var form = ToolForm(posted)
        guard form.errors.isEmpty, let port = form.port else { return try await catalogPage(session, form: form, status: .unprocessableContent) }
        do {
            _ = try await plane.catalog.create(
                CatalogService.Definition(
                    name: posted.text("name") ?? "", description: posted.text("description"), dockerImageURL: posted.text("docker_image_url") ?? "",
                    version: posted.text("version") ?? "", containerPort: port,
                    defaultConfigJSONSchema: form.schemas["default_config_json_schema"] ?? .object([:]),
                    requiredCapabilitiesSchema: form.schemas["required_capabilities_schema"] ?? .object([:]),
                    requiredSecretsSchema: form.schemas["required_secrets_schema"] ?? .object([:])),
                by: session.principal)
        } catch let error as ServiceError where error.code != .forbidden {
            form.place(error)
            return try await catalogPage(session, form: form, status: .unprocessableContent)
        }
        return ConsolePages.redirect("/console/catalog")
    }

    /// An admin's form for one catalog tool, filled from the catalog or with what was typed.
    func toolPage(_ session: ConsoleSessions.SignedIn, _ id: UUID, form: ToolForm?, status: HTTPResponse.Status = .ok) async throws -> Response {
        _ = try session.principal.requireAdmin()
        let tool = try await plane.catalog.get(id, by: session.principal)
        let form = form ?? ToolForm(values: [
            "name": tool.name, "description": tool.description ?? "", "docker_image_url": tool.dockerImageURL, "version": tool.version,
            "container_port": String(tool.containerPort), "required_capabilities_schema": tool.requiredCapabilitiesSchema,
            "required_secrets_schema": tool.requiredSecretsSchema, "default_config_json_schema": tool.defaultConfigJSONSchema,
        ])
        var values = form.templateValues
        values["id"] = id.text
        values["enabled"] = tool.isEnabled
        return pages.render("tool", title: "Tool \(tool.name)", values: values, session: session, status: status)
    }

    func updateTool(_ session: ConsoleSessions.SignedIn, _ id: UUID, _ posted: ConsoleForm) async throws -> Response {
        var form = ToolForm(posted)
        guard form.errors.isEmpty, let port = form.port else { return try await toolPage(session, id, form: form, status: .unprocessableContent) }
        do {
            _ = try await plane.catalog.update(
                id,
                CatalogService.Changes(
                    name: posted.text("name") ?? "", description: .some(posted.text("description")), dockerImageURL: posted.text("docker_image_url") ?? "",
                    version: posted.text("version") ?? "", containerPort: port, isEnabled: posted["is_enabled"] == "yes",
                    defaultConfigJSONSchema: form.schemas["default_config_json_schema"], requiredCapabilitiesSchema: form.schemas["required_capabilities_schema"],
                    requiredSecretsSchema: form.schemas["required_secrets_schema"]),
                by: session.principal)
        } catch let error as ServiceError where error.code != .forbidden && error.code != .notFound {
            form.place(error)
            return try await toolPage(session, id, form: form, status: .unprocessableContent)
        }
        return ConsolePages.redirect("/console/catalog")
    }

    // MARK: - Audit log

    func auditPage(_ session: ConsoleSessions.SignedIn, _ request: Request) async throws -> Response {
        let action = request.uri.queryParameters.get("action").map { String($0) } ?? ""
        let outcome = request.uri.queryParameters.get("outcome").flatMap { AuditOutcome(rawValue: String($0)) }
        let offset = max(0, request.uri.queryParameters.get("offset").flatMap { Int(String($0)) } ?? 0)
        let page = PageRequest(limit: 50, offset: offset)
        let entries = try await plane.auditEntries(actionPrefix: action, outcome: outcome, page: page, by: session.principal)
        func link(_ offset: Int) -> String {
            var parts = URLComponents()
            parts.path = "/console/audit"
            parts.queryItems = [URLQueryItem(name: "action", value: action), URLQueryItem(name: "outcome", value: outcome?.rawValue ?? ""),
                                URLQueryItem(name: "offset", value: String(offset))]
            return parts.string ?? "/console/audit"
        }
        var values: [String: Any] = [
            "filter": ["action": action],
            "outcomes": AuditOutcome.allCases.map { ["value": $0.rawValue, "selected": $0 == outcome] },
            "hasEvents": !entries.items.isEmpty, "events": entries.items.map(Self.event),
        ]
        if offset > 0 { values["previous"] = link(max(0, offset - page.limit)) }
        if offset + page.limit < entries.total { values["next"] = link(offset + page.limit) }
        return pages.render("audit", title: "Audit log", values: values, session: session)
    }

    /// Template values without the absent ones: Mustache shows a section for any value, an empty string included.
    static func present(_ values: [String: Any?]) -> [String: Any] {
        values.compactMapValues { $0 }
    }

    /// An audit record as the tables show it.
    private static func event(_ entry: AuditLogEntry) -> [String: Any] {
        [
            "at": entry.at.text, "actor": [entry.actorKind.rawValue, entry.actorID?.text].compactMap { $0 }.joined(separator: " "),
            "action": entry.action, "outcome": entry.outcome.rawValue,
            "target": [entry.targetType, entry.targetID].compactMap { $0 }.joined(separator: " "),
        ]
    }
}

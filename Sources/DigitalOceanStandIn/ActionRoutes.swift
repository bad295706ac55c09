import Foundation
import Hummingbird

/// Droplet actions (`POST /v2/droplets/{id}/actions`) and the action endpoints a client polls.
enum ActionRoutes {
    static let supportedTypes = ["power_off", "power_on", "shutdown", "reboot", "resize"]

    static func register(on router: Router<StandInContext>, state: StandInState) {
        router.post("/v2/droplets/:id/actions") { request, context in
            let kind = try kind(try await request.json(context), catalog: state.catalog)
            let now = Date()
            let action = try await state.startAction(kind, onDroplet: try context.id(), now: now)
            return JSONValue.object([("action", action.json(at: now, catalog: state.catalog))]).response(.created)
        }
        router.get("/v2/droplets/:id/actions") { request, context in
            let now = Date()
            let actions = try await state.actions(ofDroplet: try context.id(), now: now)
            return await Page.list("actions", actions.map { $0.json(at: now, catalog: state.catalog) }, request: request, state: state)
        }
        router.get("/v2/droplets/:id/actions/:action_id") { _, context in
            let now = Date()
            let actions = try await state.actions(ofDroplet: try context.id(), now: now)
            let actionID = try context.id("action_id")
            guard let action = actions.first(where: { $0.id == actionID }) else { throw StandInError.notFound }
            return JSONValue.object([("action", action.json(at: now, catalog: state.catalog))]).response()
        }
        router.get("/v2/actions") { request, _ in
            let now = Date()
            let actions = try await state.actions(ofDroplet: nil, now: now)
            return await Page.list("actions", actions.map { $0.json(at: now, catalog: state.catalog) }, request: request, state: state)
        }
        router.get("/v2/actions/:id") { _, context in
            let now = Date()
            let action = try await state.action(try context.id(), now: now)
            return JSONValue.object([("action", action.json(at: now, catalog: state.catalog))]).response()
        }
    }

    /// The action a body asks for; `resize` names a size and may set `disk`.
    private static func kind(_ body: JSONValue, catalog: Catalog) throws(StandInError) -> ActionKind {
        let choices = supportedTypes.joined(separator: ", ")
        guard let type = body["type"]?.string else { throw .unprocessable("type is required: one of \(choices).") }
        switch type {
        case "power_off": return .powerOff
        case "power_on": return .powerOn
        case "shutdown": return .shutdown
        case "reboot": return .reboot
        case "resize":
            guard let slug = body["size"]?.string, let size = catalog.size(slug) else {
                throw .unprocessable("resize needs size, a size slug such as s-2vcpu-4gb (GET /v2/sizes lists them).")
            }
            guard body["disk"] == nil || body["disk"]?.bool != nil else { throw .unprocessable("disk must be true or false.") }
            return .resize(size, disk: body["disk"]?.bool ?? false)
        default:
            throw .unprocessable("'\(type)' is not a droplet action the stand-in supports; use one of \(choices).")
        }
    }
}

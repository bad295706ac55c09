import Foundation
import Hummingbird

/// `/v2/droplets`: create (one or several), get, list by tag or name, delete by id or by tag.
enum DropletRoutes {
    static func register(on router: Router<StandInContext>, state: StandInState) {
        router.post("/v2/droplets") { request, context in
            let spec = try DropletSpec(try await request.json(context), catalog: state.catalog)
            let now = Date()
            let created = try await state.createDroplets(spec, now: now)
            if created.dropConnection { throw DroppedConnection() }
            let droplets = created.droplets.map { $0.json(at: now, catalog: state.catalog) }
            let actions = created.actions.map { action -> JSONValue in
                ["id": .int(action.id), "rel": "create", "href": .string("\(request.baseURL)/v2/actions/\(action.id)")]
            }
            let links: JSONValue = ["actions": .array(actions)]
            let body: JSONValue = spec.isBatch ? ["droplets": .array(droplets), "links": links] : ["droplet": droplets[0], "links": links]
            return body.response(.accepted)
        }
        router.get("/v2/droplets") { request, _ in
            let tag = request.query("tag_name")
            if tag != nil, request.query("name") != nil || request.query("type") != nil {
                throw StandInError.unprocessable("tag_name cannot be combined with name or type; filter by one of them.")
            }
            if let type = request.query("type"), type != "droplets", type != "gpus" {
                throw StandInError.unprocessable("type must be droplets or gpus.")
            }
            let now = Date()
            // The stand-in has no GPU droplets.
            let droplets = request.query("type") == "gpus" ? [] : await state.droplets(tag: tag, name: request.query("name"), now: now)
            return await Page.list("droplets", droplets.map { $0.json(at: now, catalog: state.catalog) }, request: request, state: state)
        }
        router.get("/v2/droplets/:id") { _, context in
            let now = Date()
            let droplet = try await state.droplet(try context.id(), now: now)
            return JSONValue.object([("droplet", droplet.json(at: now, catalog: state.catalog))]).response()
        }
        router.delete("/v2/droplets/:id") { _, context in
            try await state.deleteDroplet(try context.id(), now: Date())
            return Response(status: .noContent)
        }
        router.delete("/v2/droplets") { request, _ in
            guard let tag = request.query("tag_name") else {
                throw StandInError.unprocessable("Deleting droplets in bulk needs tag_name; delete one droplet with DELETE /v2/droplets/{id}.")
            }
            await state.deleteDroplets(tag: tag, now: Date())
            return Response(status: .noContent)
        }
    }
}

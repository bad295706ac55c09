import Hummingbird

/// `GET /v2/regions`, `/v2/sizes`, `/v2/images` (paginated) and `/v2/images/{id or slug}`.
enum CatalogRoutes {
    static func register(on router: Router<StandInContext>, state: StandInState) {
        let catalog = state.catalog
        router.get("/v2/regions") { request, _ in
            await Page.list("regions", catalog.regions.map(catalog.json), request: request, state: state)
        }
        router.get("/v2/sizes") { request, _ in
            await Page.list("sizes", catalog.sizes.map(catalog.json), request: request, state: state)
        }
        router.get("/v2/images") { request, _ in
            await Page.list("images", catalog.images.map(catalog.json), request: request, state: state)
        }
        router.get("/v2/images/:image") { _, context in
            guard let reference = context.parameters.get("image"), let image = catalog.image(reference) else { throw StandInError.notFound }
            return JSONValue.object([("image", catalog.json(image))]).response()
        }
    }
}

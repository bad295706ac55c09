/// A resource's share of the OpenAPI description, kept beside the routes it describes.
///
/// `paths` is the JSON text of an object of path items; `schemas` of an object of component
/// schemas. `OpenAPIDocument` merges every fragment into one document.
struct OpenAPIFragment: Sendable {
    let paths: String
    let schemas: String

    init(paths: String, schemas: String = "{}") {
        self.paths = paths
        self.schemas = schemas
    }
}

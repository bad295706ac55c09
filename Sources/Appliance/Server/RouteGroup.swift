import Services

/// A resource's endpoints and their share of the OpenAPI description, side by side.
protocol RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint]
    static var openAPI: OpenAPIFragment { get }
}

import Foundation
import Hummingbird

/// `GET /api/v1/openapi.json`: the description of every route, built from the route groups' fragments.
enum OpenAPIRoutes {
    static func endpoint(document: Data) -> Endpoint {
        Endpoint(.get, "/api/v1/openapi.json", .anyone) { _ in
            Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
    }

    static let openAPI = OpenAPIFragment(
        paths: #"""
            {"/api/v1/openapi.json": {"get": {"operationId": "openapi", "summary": "This description", "tags": ["health"], "security": [],
              "responses": {"200": {"description": "The OpenAPI 3.1 document.", "content": {"application/json": {"schema": {"type": "object"}}}}}}}}
            """#)
}

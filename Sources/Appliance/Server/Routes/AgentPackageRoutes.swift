import Foundation
import HTTPTypes
import Hummingbird
import Services

/// The agent release, as droplets download it: the `.deb` the cloud-init installs (`GET /api/v1/agent/package`, with
/// the enrollment token or the toolbox token) and the bare binary a DTMA updates itself to (`GET /api/v1/dtma/agent-binary`,
/// toolbox token only). Both carry `Agentbox-Version` and `Agentbox-Sha256` (of the bytes served).
enum AgentPackageRoutes: RouteGroup {
    static func endpoints(_ plane: ControlPlane) -> [Endpoint] {
        [
            // The enrollment token is the bearer token here (it is not a principal), so the route checks it itself.
            Endpoint(.get, "/api/v1/agent/package", .anyone) { call in
                guard let header = call.request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
                    throw ServiceError(.unauthenticated, "send the enrollment token or the toolbox token: Authorization: Bearer <token>")
                }
                _ = try await plane.enrollment.authorizePackage(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
                let package = try await served { try await plane.distribution.package() }
                var headers: HTTPFields = [
                    .contentType: "application/vnd.debian.binary-package",
                    .contentDisposition: "attachment; filename=\"\(package.fileName)\"",
                ]
                headers[versionHeader] = package.release.version
                headers[sha256Header] = package.sha256
                return Response(
                    status: .ok, headers: headers, body: stream(package.binary, length: package.size, head: package.frame.head, tail: package.frame.tail))
            },
            Endpoint(.get, "/api/v1/dtma/agent-binary") { call in
                guard case .toolbox(let toolbox) = try call.caller else {
                    throw ServiceError(.forbidden, "only a droplet's DTMA, with its toolbox token, downloads the agent binary", reason: "toolbox_token_required")
                }
                let binary = try await served { try await plane.distribution.binary() }
                try await plane.enrollment.recordBinaryDownload(by: toolbox, release: binary.release.version)
                var headers: HTTPFields = [.contentType: "application/octet-stream"]
                headers[versionHeader] = binary.release.version
                headers[sha256Header] = binary.release.sha256
                return Response(status: .ok, headers: headers, body: stream(binary.file, length: binary.file.size))
            },
        ]
    }

    static let versionHeader = HTTPField.Name("Agentbox-Version")!
    static let sha256Header = HTTPField.Name("Agentbox-Sha256")!

    /// The distribution's answer; a binary that cannot be read or packaged is a 503 that says why.
    private static func served<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as AgentDistribution.Failure {
            throw ServiceError(.unavailable, error.description, reason: "agent_binary_unavailable")
        }
    }

    /// `head`, the file's bytes and `tail`, read from the file as they are sent.
    private static func stream(_ file: AgentDistribution.AgentFile, length: Int, head: Data = Data(), tail: Data = Data()) -> ResponseBody {
        ResponseBody(contentLength: length) { writer in
            try await AgentDistribution.send(file, head: head, tail: tail) { try await writer.write(ByteBuffer(data: $0)) }
            try await writer.finish(nil)
        }
    }

    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/api/v1/agent/package": {
                "get": {"operationId": "downloadAgentPackage", "summary": "A droplet downloads the agent release as a .deb, with its enrollment token (not consumed) or its toolbox token (Authorization: Bearer); audited", "tags": ["dtma"],
                  "security": [],
                  "responses": {"200": {"description": "The package (agentbox_<version>_<arch>.deb, installing /usr/bin/agentbox).",
                      "headers": {"Agentbox-Version": {"description": "The version of the agent in the package.", "schema": {"type": "string"}},
                        "Agentbox-Sha256": {"description": "The SHA-256 (lowercase hex) of the package.", "schema": {"type": "string"}},
                        "Content-Disposition": {"description": "attachment; filename=\"agentbox_<version>_<arch>.deb\"", "schema": {"type": "string"}}},
                      "content": {"application/vnd.debian.binary-package": {"schema": {"type": "string", "contentMediaType": "application/vnd.debian.binary-package"}}}},
                    "401": {"description": "Refused: enrollment_token_invalid, enrollment_token_used, enrollment_token_expired or toolbox_not_enrolling.",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "503": {"description": "The agent binary cannot be read or packaged: agent_binary_unavailable.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
              },
              "/api/v1/dtma/agent-binary": {
                "get": {"operationId": "dtmaAgentBinary", "summary": "A droplet's DTMA downloads the agent release's binary to update itself (toolbox token only); audited", "tags": ["dtma"],
                  "responses": {"200": {"description": "The agentbox binary.",
                      "headers": {"Agentbox-Version": {"description": "The version of the binary.", "schema": {"type": "string"}},
                        "Agentbox-Sha256": {"description": "The SHA-256 (lowercase hex) of the binary.", "schema": {"type": "string"}}},
                      "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"description": "Not a toolbox token: toolbox_token_required.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "503": {"description": "The agent binary cannot be read: agent_binary_unavailable.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
              }
            }
            """#)
}

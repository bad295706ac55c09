import Hummingbird
import Services
import Vault

/// What the operator endpoints need beside the services.
struct OperatorSettings: Sendable {
    /// The Docker engine's socket that `/readyz` pings.
    let dockerSocket: String
    let metrics: ServerMetrics

    init(dockerSocket: String = DockerProbe.defaultSocketPath, metrics: ServerMetrics = ServerMetrics()) {
        self.dockerSocket = dockerSocket
        self.metrics = metrics
    }
}

/// `GET /readyz` and `GET /metrics`: for load balancers, orchestrators and Prometheus; no token.
///
/// `/metrics` shows counts and route names, never an id or a secret, but it is still operational detail:
/// firewall it, or keep the server on loopback behind a reverse proxy that does not forward it.
enum OperatorRoutes {
    /// Probes and scrapes: their request lines are logged at debug.
    static let quietRoutes: Set<String> = ["/healthz", "/readyz", "/metrics"]

    static func endpoints(_ plane: ControlPlane, _ settings: OperatorSettings) -> [Endpoint] {
        let probe = DockerProbe(socketPath: settings.dockerSocket, timeout: .seconds(2))
        let metrics = settings.metrics
        return [
            Endpoint(.get, "/readyz", .anyone) { _ in
                async let database = databaseCheck(plane)
                async let docker = dockerCheck(probe)
                let checks = Readiness.Checks(database: await database, vault: vaultCheck(plane.backend.vault), docker: await docker)
                let ready = [checks.database, checks.vault, checks.docker].allSatisfy { $0 == "ok" }
                return try JSONResponse.encode(
                    Readiness(status: ready ? "ready" : "not_ready", checks: checks), status: ready ? .ok : .serviceUnavailable)
            },
            Endpoint(.get, "/metrics", .anyone) { call in
                do {
                    try await metrics.refresh(from: plane.backend.database)
                } catch {
                    call.context.logger.warning("metrics: the database counts could not be read", metadata: ["error": "\(error)"])
                }
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
            },
        ]
    }

    /// A trivial read of the database file.
    private static func databaseCheck(_ plane: ControlPlane) async -> String {
        do {
            try await plane.backend.database.ping()
            return "ok"
        } catch {
            return "failed: \(error)"
        }
    }

    /// The vault is unsealed and its active key seals and opens a throw-away value.
    private static func vaultCheck(_ vault: Vault) -> String {
        let probe: [UInt8] = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let context = SealContext(table: "readyz", rowID: "probe")
        do {
            let opened = try vault.open(vault.seal(probe, for: context), for: context)
            return opened.withUnsafeBytes { Array($0) == probe } ? "ok" : "failed: a sealed value opened to different bytes"
        } catch {
            return "failed: \(error)"
        }
    }

    /// `GET /_ping` on the Docker socket, with a short time-out.
    private static func dockerCheck(_ probe: DockerProbe) async -> String {
        do {
            try await probe.ping()
            return "ok"
        } catch {
            return "unreachable: \(error.message)"
        }
    }

    /// The answer of `GET /readyz`.
    struct Readiness: Encodable {
        struct Checks: Encodable {
            let database: String
            let vault: String
            let docker: String
        }
        let status: String
        let checks: Checks
    }
}

extension OperatorRoutes {
    static let openAPI = OpenAPIFragment(
        paths: #"""
            {
              "/readyz": {"get": {"operationId": "ready", "summary": "Whether the server can serve: database, vault and Docker engine", "tags": ["health"],
                "security": [],
                "responses": {
                  "200": {"description": "Every check is ok.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}},
                  "503": {"description": "A check failed; its value says why (e.g. \"unreachable: ...\").",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}}}}},
              "/metrics": {"get": {"operationId": "metrics",
                "summary": "Prometheus metrics; no token, so firewall it or bind the server to loopback", "tags": ["health"], "security": [],
                "description": "Prometheus text format 0.0.4: HTTP requests by method, route template and status with a latency histogram, token rejections, tool instances and toolboxes by status, audit records written. Labels never hold an id, a token or a secret.",
                "responses": {"200": {"description": "The metrics.", "content": {"text/plain": {"schema": {"type": "string"}}}}}}}
            }
            """#,
        schemas: #"""
            {"Readiness": {"type": "object", "required": ["status", "checks"], "additionalProperties": false,
              "properties": {"status": {"enum": ["ready", "not_ready"]},
                "checks": {"type": "object", "required": ["database", "vault", "docker"], "additionalProperties": false,
                  "properties": {"database": {"type": "string"}, "vault": {"type": "string"}, "docker": {"type": "string"}}}}}}
            """#)
}

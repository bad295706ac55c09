import Foundation
import TestSupport
import Testing

/// `/readyz`, `/metrics` and the request log of a real `agentbox serve`.
struct OperatorEndpointTests {
    /// Creates an admin offline, then starts `agentbox serve` with `arguments` added.
    private func start(_ arguments: [String]) async throws -> TestAPI {
        let folder = try TemporaryDirectory()
        let agentbox = AgentboxProcess(folder: folder)
        let data = folder.appending("data")
        let created = try await agentbox.run(["admin", "create", "root", "--json", "--data-dir", data])
        let line = try #require(created.output.split(separator: "\n").last { $0.hasPrefix("{") }, "\(created.output)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let token = try #require(object["token"] as? String)
        let server = try await agentbox.serve(["--data-dir", data] + arguments)
        return TestAPI(folder: folder, server: server, adminToken: token)
    }

    // MARK: - /readyz

    @Test func readyzNamesDockerWhenItIsDownAndEverythingElseKeepsWorking() async throws {
        let folder = try TemporaryDirectory()
        let missing = folder.appending("docker.sock")
        let api = try await start(["--docker-socket", missing])
        let ready = try await api.request("GET", "/readyz", token: nil)
        let health = try await api.request("GET", "/healthz", token: nil)
        let agents = try await api.request("GET", "/api/v1/agents", token: api.adminToken)
        try await api.stop()

        #expect(ready.status == 503)
        #expect(ready.json["status"] as? String == "not_ready")
        let checks = try #require(ready.json["checks"] as? [String: String])
        #expect(checks["database"] == "ok")
        #expect(checks["vault"] == "ok")
        #expect(checks["docker"]?.hasPrefix("unreachable: no Docker engine answers at \(missing)") == true, "\(checks)")
        #expect(health.status == 200)
        #expect(agents.status == 200)
    }

    @Test func readyzIsReadyWhenDatabaseVaultAndDockerAnswer() async throws {
        let api = try await start(["--docker-socket", TestServices.dockerSocket])
        let ready = try await api.request("GET", "/readyz", token: nil)
        try await api.stop()

        #expect(ready.status == 200)
        #expect(ready.json["status"] as? String == "ready")
        #expect(ready.json["checks"] as? [String: String] == ["database": "ok", "vault": "ok", "docker": "ok"])
    }

    // MARK: - /metrics

    @Test func metricsCountRequestsByRouteTemplateAndStatusWithoutIDsOrSecrets() async throws {
        let api = try await start([])
        let created = try await api.request("POST", "/api/v1/agents", token: api.adminToken, body: ["name": "scraped"])
        let id = try #require(created.string("id"))
        let stranger = UUID().uuidString.lowercased()
        #expect(try await api.request("GET", "/api/v1/agents/\(id)", token: api.adminToken).status == 200)
        #expect(try await api.request("GET", "/api/v1/agents/\(stranger)", token: api.adminToken).status == 404)
        let forged = "abx_u_" + String(repeating: "A", count: 43) + "ABCDEF"
        #expect(try await api.request("GET", "/api/v1/agents", token: forged).status == 401)
        #expect(try await api.request("GET", "/no/such/route/\(stranger)", token: nil).status == 404)
        let scrape = try await api.request("GET", "/metrics", token: nil)
        let again = try await api.request("GET", "/metrics", token: nil)
        try await api.stop()

        #expect(scrape.status == 200)
        #expect(scrape.headers["content-type"]?.hasPrefix("text/plain") == true)
        let text = String(decoding: scrape.body, as: UTF8.self)
        let metrics = PrometheusText(text)
        func requests(_ method: String, _ route: String, _ status: Int) -> Double? {
            metrics.value("agentbox_http_requests_total", ["method": method, "route": route, "status": String(status)])
        }
        #expect(requests("POST", "/api/v1/agents", 201) == 1)
        #expect(requests("GET", "/api/v1/agents/{id}", 200) == 1)
        #expect(requests("GET", "/api/v1/agents/{id}", 404) == 1)
        #expect(requests("GET", "/api/v1/agents", 401) == 1)
        #expect(requests("GET", "unmatched", 404) == 1)
        #expect(metrics.value("agentbox_http_request_duration_seconds_count", ["method": "GET", "route": "/api/v1/agents/{id}"]) == 2)
        #expect(metrics.value("agentbox_token_rejections_total", [:]) == 1)
        #expect(metrics.value("agentbox_tool_instances", ["status": "running"]) == 0)
        #expect(metrics.value("agentbox_toolboxes", ["status": "active"]) == 0)
        let audited = try #require(metrics.value("agentbox_audit_records_total", [:]))
        #expect(audited >= 3, "admin created, agent created, token rejected")
        #expect(PrometheusText(String(decoding: again.body, as: UTF8.self)).value("agentbox_audit_records_total", [:]) == audited)

        for leak in [id, stranger, api.adminToken, forged, "abx_", "/no/such/route", "scraped"] {
            #expect(!text.contains(leak), "the metrics show \(leak)")
        }
    }

    // MARK: - Logs

    @Test func jsonLogsAreOneObjectPerLineAndRequestLinesCarryTheRequestID() async throws {
        let api = try await start(["--log-format", "json"])
        let rejected = try await api.request("GET", "/api/v1/agents", token: nil)
        #expect(try await api.request("GET", "/api/v1/agents", token: api.adminToken).status == 200)
        let log = try await api.stop()

        let requestID = try #require((rejected.json["error"] as? [String: Any])?["request_id"] as? String)
        #expect(rejected.headers["x-request-id"] == requestID)
        var requestLines: [[String: Any]] = []
        for line in log.split(separator: "\n") where !line.isEmpty {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let entry = try #require(object, "not a JSON object: \(line)")
            for key in ["time", "level", "label", "message"] {
                #expect(entry[key] is String, "\(key) missing in \(line)")
            }
            let metadata = try #require(entry["metadata"] as? [String: Any], "\(line)")
            #expect(metadata["hb.request.id"] == nil)
            if entry["message"] as? String == "request" { requestLines.append(metadata) }
        }
        #expect(requestLines.count == 2)
        #expect(requestLines.allSatisfy { ($0["request_id"] as? String)?.isEmpty == false })
        #expect(requestLines.contains { $0["request_id"] as? String == requestID && $0["status"] as? String == "401" })
    }

    @Test func textLogsNameTheRequestIDToo() async throws {
        let api = try await start([])
        let rejected = try await api.request("GET", "/api/v1/agents", token: nil)
        let log = try await api.stop()
        let requestID = try #require(rejected.headers["x-request-id"])
        let line = try #require(log.split(separator: "\n").first { $0.contains("request_id=\(requestID)") }, "\(log)")
        #expect(line.contains("route=/api/v1/agents"))
        #expect(line.contains("status=401"))
        #expect(!log.contains("hb.request.id"))
    }
}

/// Samples of a Prometheus text exposition.
private struct PrometheusText {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let samples: [Sample]

    init(_ text: String) {
        samples = text.split(separator: "\n").compactMap { Self.parse(Substring($0)) }
    }

    /// The value of the sample with exactly these labels.
    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    private static func parse(_ line: Substring) -> Sample? {
        guard !line.hasPrefix("#") else { return nil }
        var rest = line[...]
        let name = String(rest.prefix { $0 != "{" && $0 != " " })
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while let first = rest.first, first != "}" {
                let key = String(rest.prefix { $0 != "=" })
                rest = rest.dropFirst(key.count + 2)  // key="
                var value = ""
                while let character = rest.first, character != "\"" {
                    if character == "\\", let escaped = rest.dropFirst().first {
                        value.append(escaped == "n" ? "\n" : escaped)
                        rest = rest.dropFirst(2)
                    } else {
                        value.append(character)
                        rest = rest.dropFirst()
                    }
                }
                rest = rest.dropFirst()  // closing quote
                if rest.first == "," { rest = rest.dropFirst() }
                labels[key] = value
            }
            rest = rest.dropFirst()  // }
        }
        guard let value = Double(rest.trimmingCharacters(in: .whitespaces)) else { return nil }
        return Sample(name: name, labels: labels, value: value)
    }
}

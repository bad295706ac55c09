import Foundation
import TestSupport
import Testing

/// The appliance's DigitalOcean token through the API, with `serve` pointed at the project's stand-in: checked
/// against the account before it is kept, sealed, shown back only as its account, and for admins only.
struct DigitalOceanAPITests {
    @Test func anAdminStoresACheckedTokenThatIsSealedAndNeverShown() async throws {
        let folder = try TemporaryDirectory()
        let sim = try await StandInProcess.start(folder: folder)
        defer { Task { await sim.stop() } }
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "0", "--digitalocean-api", sim.baseURL])
        let route = "/api/v1/admin/digitalocean/token"
        let ada = try await api.createUser("ada")

        #expect(try await api.request("GET", "/api/v1/admin/digitalocean", token: api.adminToken).status == 404)
        let early = try await api.request(
            "POST", "/api/v1/toolboxes", token: ada.token, body: ["name": "cloud", "provider": "digitalocean", "region": "nyc3", "size": "s-1vcpu-1gb"])
        #expect(early.status == 422 && early.errorCode == "public_url_missing", "\(ToolAPIFixtures.text(early))")
        #expect(try await api.request("PUT", route, token: ada.token, body: ["token": sim.token]).status == 403)
        let rejected = try await api.request("PUT", route, token: api.adminToken, body: ["token": "dop_v1_wrong"])
        #expect(rejected.status == 422 && rejected.errorCode == "digitalocean_token_rejected", "\(ToolAPIFixtures.text(rejected))")
        #expect(try await api.request("PUT", route, token: api.adminToken, body: ["token": "two words"]).status == 400)

        let stored = try await api.request("PUT", route, token: api.adminToken, body: ["token": sim.token])
        #expect(stored.status == 200 && stored.string("provider") == "digitalocean" && stored.string("api_url") == sim.baseURL, "\(ToolAPIFixtures.text(stored))")
        #expect(stored.string("account_email")?.contains("@") == true)
        let shown = try await api.request("GET", "/api/v1/admin/digitalocean", token: api.adminToken)
        #expect(shown.status == 200 && shown.string("account_uuid") == stored.string("account_uuid"))
        #expect(!String(decoding: stored.body + shown.body, as: UTF8.self).contains(sim.token))
        #expect(try await sim.requests("GET", "/v2/account") == 2, "the wrong token and the right one were each checked once")

        // doctor asks the API with the stored token, beside the running server.
        let doctor = try await AgentboxProcess(folder: api.folder).run(
            ["doctor", "--data-dir", api.folder.appending("data"), "--digitalocean-api", sim.baseURL])
        let line = doctor.output.split(separator: "\n").first { $0.contains("digitalocean") }.map(String.init) ?? ""
        #expect(line.contains("ok") && line.contains("the token is accepted by \(sim.baseURL)"), "\(doctor.output)")
        #expect(!doctor.output.contains(sim.token))

        let log = try await api.stop()
        #expect(!log.contains(sim.token), "the log shows the token")
        let database = try Data(contentsOf: URL(fileURLWithPath: api.folder.appending("data/agentbox.sqlite")))
        let wal = (try? Data(contentsOf: URL(fileURLWithPath: api.folder.appending("data/agentbox.sqlite-wal")))) ?? Data()
        #expect(database.range(of: Data(sim.token.utf8)) == nil && wal.range(of: Data(sim.token.utf8)) == nil, "the token is on disk in plain text")
        let verify = try await AgentboxProcess(folder: api.folder).run(["vault", "verify", "--data-dir", api.folder.appending("data")])
        #expect(verify.status == 0 && verify.output.contains("1 sealed secret(s) opened, 0 failed"), "the token is among the sealed secrets: \(verify.output)")

        let again = try await api.restarted(serveArguments: ["--reconcile-interval", "0", "--digitalocean-api", sim.baseURL])
        #expect(try await again.request("DELETE", route, token: again.adminToken).status == 204)
        #expect(try await again.request("GET", "/api/v1/admin/digitalocean", token: again.adminToken).status == 404)
        #expect(try await again.request("DELETE", route, token: again.adminToken).status == 404)
        _ = try await again.stop()
    }

    @Test func serveRefusesAPlainHTTPAPIOffLoopback() async throws {
        let folder = try TemporaryDirectory()
        let agentbox = AgentboxProcess(folder: folder)
        let refused = try await agentbox.run(["serve", "--data-dir", folder.appending("data"), "--digitalocean-api", "http://api.example.com"])
        #expect(refused.status != 0 && refused.output.contains("--digitalocean-api must be an https URL"), "\(refused.output)")
    }
}

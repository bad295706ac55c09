import Foundation
import TestSupport
import Testing

/// The DTMAs' credential hand-out route over HTTP: only a toolbox token may redeem tickets, and denials carry the rule's code.
struct HandoutAPITests {
    @Test func onlyAToolboxTokenMayRedeemATicketAndDenialsNameTheRule() async throws {
        let api = try await TestAPI.start()
        let ada = try await api.createUser("ada")
        let route = "/api/v1/dtma/credentials"
        let body = ["ticket": "abx_c_" + String(repeating: "A", count: 43)]
        #expect(try await api.request("POST", route, token: nil, body: body).status == 401)
        let asUser = try await api.request("POST", route, token: ada.token, body: body)
        #expect(asUser.status == 403 && asUser.errorCode == "toolbox_token_required", "\(ToolAPIFixtures.text(asUser))")
        let asAdmin = try await api.request("POST", route, token: api.adminToken, body: body)
        #expect(asAdmin.status == 403 && asAdmin.errorCode == "toolbox_token_required")
        let malformed = try await api.request("POST", route, token: ada.token, body: ["nothing": true])
        #expect(malformed.status == 400 && malformed.errorCode == "invalid_request")
        let metrics = try await api.server.get("/metrics").body
        #expect(metrics.contains(#"agentbox_credential_handouts_total{outcome="denied",rule="toolbox_token_required"} 2"#), "\(metrics.suffix(2000))")
        try await api.stop()
    }
}

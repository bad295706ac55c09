import Foundation
import Services
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

/// Each rule of the hand-out, taken alone, through the HTTP endpoint with real toolbox tokens: the server runs in
/// this process so the test can mint call tickets the way the execute route does.
struct HandoutRulesOverHTTPTests {
    @Test func eachRuleDeniesWithItsOwnCodeAndAnAuditRecord() async throws {
        let bed = try await ToolbeltTestBed.make()
        // The plane under test: the bed's data, with tickets that expire after a second.
        let plane = ControlPlane(backend: bed.test.backend, configuration: .init(ticketLifetime: .seconds(1)))
        let (world, item) = try await bed.belted("ada", owner: bed.ada)
        _ = try await plane.toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: true, by: bed.ada)
        let canary = "sk-canary-\(UUID().uuidString)"
        let credential = try await plane.credentials.create(
            itemID: item.id, type: "api_key", credentials: ["api_key": .string(canary)], accountIdentifier: nil, by: bed.ada)
        let (otherBox, otherInstance) = try await bed.secondToolbox(of: world, name: "ada-2")
        let token = try await bed.database.transaction { try plane.tokens.issue(.toolbox(world.toolbox.id), name: "dtma", in: $0) }.token
        let otherToken = try await bed.database.transaction { try plane.tokens.issue(.toolbox(otherBox.id), name: "dtma", in: $0) }.token
        let adaToken = try await bed.database.transaction { try plane.tokens.issue(.user(try bed.ada.requireUser().id), name: "ada", in: $0) }.token
        let server = try await InProcessServer.start(plane)
        defer { server.stop() }

        func ticket(_ capability: String = "gmail_send", instance: UUID? = nil) -> String {
            plane.tickets.mint(.init(agentID: world.agent.id, instanceID: instance ?? world.instance.id, capability: capability, requestID: "req-\(UUID())"))
        }
        var bodies: [String] = []
        /// Redeems over HTTP; for a denial, checks the code and that the newest audit record names the same rule.
        func redeem(_ ticket: String, token: String?, expect status: Int, _ code: String?) async throws -> [String: Any] {
            let reply = try await server.post("/api/v1/dtma/credentials", token: token, body: ["ticket": ticket])
            bodies.append(reply.text)
            #expect(reply.status == status, "\(code ?? "granted"): \(reply.text)")
            if let code, status == 403 {
                #expect((reply.json["error"] as? [String: Any])?["code"] as? String == code, "\(reply.text)")
                if code != "toolbox_token_required" {
                    let record = try #require(try await bed.database.fetchAuditLogEntries(afterSeq: 0, limit: 10_000).last)
                    #expect(record.action == "credential.handout" && record.outcome == .denied && record.detailJSON.contains(#""rule":"\#(code)""#), "\(record)")
                }
            }
            return reply.json
        }

        // Granted: exactly this agent's credentials, once.
        let first = ticket()
        let granted = try await redeem(first, token: token, expect: 200, nil)
        #expect((granted["credentials"] as? [String: Any])?["api_key"] as? String == canary)
        #expect(granted["agent_id"] as? String == world.agent.id.uuidString.lowercased())
        _ = try await redeem(first, token: token, expect: 403, "ticket_used")
        // Tokens: none, a forged one, a user's, another toolbox's.
        _ = try await redeem(ticket(), token: nil, expect: 401, nil)
        _ = try await redeem(ticket(), token: "abx_t_" + String(repeating: "A", count: 43) + "AAAAAA", expect: 401, nil)
        _ = try await redeem(ticket(), token: adaToken, expect: 403, "toolbox_token_required")
        _ = try await redeem(ticket(), token: otherToken, expect: 403, "instance_not_on_toolbox")
        // Tickets: unknown, for an instance on another toolbox, expired.
        _ = try await redeem("abx_c_" + String(repeating: "B", count: 43), token: token, expect: 403, "ticket_invalid")
        _ = try await redeem(ticket(instance: otherInstance.id), token: token, expect: 403, "instance_not_on_toolbox")
        let late = ticket()
        try await Task.sleep(for: .milliseconds(1300))
        _ = try await redeem(late, token: token, expect: 403, "ticket_expired")
        // The agent's rights, one at a time.
        _ = try await redeem(ticket("gmail_nope"), token: token, expect: 403, "capability_unknown")
        _ = try await redeem(ticket("gmail_read"), token: token, expect: 403, "capability_denied")
        _ = try await plane.toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: false, by: bed.ada)
        _ = try await redeem(ticket(), token: token, expect: 403, "capability_denied")
        _ = try await plane.toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: true, by: bed.ada)
        _ = try await plane.credentials.setStatus(credential.id, .requiresReauth, by: bed.ada)
        _ = try await redeem(ticket(), token: token, expect: 403, "credential_requires_reauth")
        _ = try await plane.credentials.setStatus(credential.id, .revoked, by: bed.ada)
        _ = try await redeem(ticket(), token: token, expect: 403, "credential_revoked")
        _ = try await plane.toolbelts.setItemActive(item.id, false, by: bed.ada)
        _ = try await redeem(ticket(), token: token, expect: 403, "toolbelt_item_inactive")
        _ = try await plane.toolbelts.revokeAccess(agentID: world.agent.id, toolboxID: world.toolbox.id, by: bed.ada)
        _ = try await redeem(ticket(), token: token, expect: 403, "toolbox_access_denied")

        #expect(!bodies.dropFirst().contains { $0.contains(canary) }, "the canary appears only in the one granted answer")
        let records = try await bed.database.fetchAuditLogEntries(afterSeq: 0, limit: 10_000)
        #expect(!records.contains { $0.detailJSON.contains(canary) })
    }
}

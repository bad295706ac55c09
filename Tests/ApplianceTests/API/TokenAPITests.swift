import Foundation
import TestSupport
import Testing

/// Tokens over the API: shown once, stored hashed, revocable, rotatable with an overlap, audited on failure.
struct TokenAPITests {
    @Test func aTokenIsShownOnceAndListedOnlyByItsPrefix() async throws {
        let api = try await TestAPI.start()
        let issued = try await api.request("POST", "/api/v1/tokens", token: api.adminToken, body: ["name": "laptop"])
        #expect(issued.status == 201)
        let token = try #require(issued.string("token"))
        #expect(token.hasPrefix("abx_u_"))
        let listed = try await api.request("GET", "/api/v1/tokens", token: token)
        #expect(listed.status == 200)
        let body = String(decoding: listed.body, as: UTF8.self)
        #expect(!body.contains(token))
        #expect(listed.items.contains { $0["name"] as? String == "laptop" && $0["prefix"] as? String == String(token.prefix(12)) })
        let log = try await api.stop()
        #expect(!log.contains(token))
    }

    @Test func badTokensAreRefusedWith401AndAudited() async throws {
        let api = try await TestAPI.start()
        let cases: [(header: String?, reason: String)] = [
            (nil, "needs a token"),
            ("Basic abc", "must be: Bearer"),
            ("Bearer nonsense", "not an agentbox token"),
            ("Bearer " + String(api.adminToken.dropLast()), "wrong length"),
            ("Bearer " + String(api.adminToken.dropLast()) + (api.adminToken.hasSuffix("A") ? "B" : "A"), "checksum"),
        ]
        for (header, reason) in cases {
            let reply = try await api.request("GET", "/api/v1/me", token: nil, headers: header.map { ["Authorization": $0] } ?? [:])
            #expect(reply.status == 401, "\(header ?? "no header")")
            #expect(reply.errorCode == "unauthenticated")
            #expect(reply.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
            #expect(String(decoding: reply.body, as: UTF8.self).contains(reason), "\(header ?? "no header") should say \(reason)")
        }
        let audit = try await api.request("GET", "/api/v1/audit?limit=200", token: api.adminToken)
        #expect(audit.items.filter { $0["action"] as? String == "token.rejected" }.count >= 3)
        try await api.stop()
    }

    @Test func aRevokedTokenStopsWorkingAtOnce() async throws {
        let api = try await TestAPI.start()
        let issued = try await api.request("POST", "/api/v1/tokens", token: api.adminToken, body: [:] as [String: String])
        let token = try #require(issued.string("token"))
        let id = try #require((issued.json["info"] as? [String: Any])?["id"] as? String)
        #expect(try await api.request("GET", "/api/v1/me", token: token).status == 200)
        #expect(try await api.request("DELETE", "/api/v1/tokens/\(id)", token: api.adminToken).status == 204)
        let refused = try await api.request("GET", "/api/v1/me", token: token)
        #expect(refused.status == 401)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("revoked"))
        try await api.stop()
    }

    @Test func rotationIssuesASuccessorAndEndsTheOldTokenAfterTheOverlap() async throws {
        let api = try await TestAPI.start()
        let issued = try await api.request("POST", "/api/v1/tokens", token: api.adminToken, body: [:] as [String: String])
        let old = try #require(issued.string("token"))
        let id = try #require((issued.json["info"] as? [String: Any])?["id"] as? String)

        let kept = try await api.request("POST", "/api/v1/tokens/\(id)/rotate", token: old, body: ["overlap_seconds": 3600])
        #expect(kept.status == 201)
        let successor = try #require(kept.string("token"))
        #expect(try await api.request("GET", "/api/v1/me", token: old).status == 200, "the old token works during the overlap")
        #expect(try await api.request("GET", "/api/v1/me", token: successor).status == 200)

        let next = try #require((kept.json["info"] as? [String: Any])?["id"] as? String)
        let ended = try await api.request("POST", "/api/v1/tokens/\(next)/rotate", token: successor, body: ["overlap_seconds": 0])
        #expect(ended.status == 201)
        #expect(try await api.request("GET", "/api/v1/me", token: successor).status == 401, "no overlap: the old token ends now")
        let bad = try await api.request("POST", "/api/v1/tokens/\(next)/rotate", token: api.adminToken, body: ["overlap_seconds": -5])
        #expect(bad.status == 400)
        #expect(bad.errorCode == "invalid_request")
        try await api.stop()
    }

    @Test func agentTokensIdentifyTheAgentAndCannotManageResources() async throws {
        let api = try await TestAPI.start()
        let agent = try await api.request("POST", "/api/v1/agents", token: api.adminToken, body: ["name": "mailer"])
        let agentID = try #require(agent.string("id"))
        let issued = try await api.request("POST", "/api/v1/agents/\(agentID)/tokens", token: api.adminToken, body: ["name": "prod"])
        #expect(issued.status == 201)
        let token = try #require(issued.string("token"))
        #expect(token.hasPrefix("abx_a_"))
        let me = try await api.request("GET", "/api/v1/me", token: token)
        #expect(me.string("kind") == "agent")
        #expect(me.string("id") == agentID)
        let refused = try await api.request("POST", "/api/v1/agents", token: token, body: ["name": "child"])
        #expect(refused.status == 403)
        #expect(refused.errorCode == "forbidden")
        try await api.stop()
    }
}

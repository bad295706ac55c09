import Foundation
import TestSupport
import Testing

/// Brute force over HTTP: after `--token-failures-per-minute` failed token checks from one address, the API and
/// `/mcp` answer 429 with Retry-After to that address (valid tokens too), while requests without a token are not
/// counted and another address is served as before.
struct TokenRateLimitTests {
    @Test func guessingTokensFromOneAddressIsAnswered429() async throws {
        let api = try await TestAPI.start(serveArguments: ["--reconcile-interval", "0", "--token-failures-per-minute", "5"])
        for _ in 0..<10 {
            #expect(try await api.request("GET", "/api/v1/me", token: nil).status == 401, "a request without a token is not a guess")
        }
        for attempt in 0..<5 {
            #expect(try await api.request("GET", "/api/v1/me", token: "abx_u_guess\(attempt)").status == 401)
        }
        let limited = try await api.request("GET", "/api/v1/me", token: "abx_u_guess")
        #expect(limited.status == 429)
        #expect(limited.errorCode == "rate_limited")
        let retryAfter = try #require(limited.headers["retry-after"].flatMap(Int.init))
        #expect((1...12).contains(retryAfter))
        #expect(try await api.request("GET", "/api/v1/me", token: api.adminToken).status == 429, "a valid token is refused too")
        let mcp = try await api.request(
            "POST", "/mcp", token: api.adminToken, body: ["jsonrpc": "2.0", "id": 1, "method": "ping"],
            headers: ["Accept": "application/json, text/event-stream"])
        #expect(mcp.status == 429)

        // Another loopback address (the server listens on 127.0.0.1; curl connects from 127.0.0.2) is not limited.
        let other = try await Command.run(
            ["curl", "-s", "--interface", "127.0.0.2", "-H", "Authorization: Bearer \(api.adminToken)",
             "http://127.0.0.1:\(api.server.port)/api/v1/audit?limit=200"], in: api.folder)
        let audit = try JSONSerialization.jsonObject(with: Data(other.utf8)) as? [String: Any]
        let actions = (audit?["items"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
        #expect(actions.filter { $0 == "token.rate_limited" }.count == 1)
        #expect(actions.filter { $0 == "token.rejected" }.count == 5)
        try await api.stop()
    }
}

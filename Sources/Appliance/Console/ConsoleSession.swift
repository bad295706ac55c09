import Crypto
import Foundation
import Hummingbird
import Services
import Storage

/// Who a browser is, for the web console. The user's token lives only in an HttpOnly, SameSite=Strict cookie
/// scoped to `/console` (never in a URL or a page); every form carries a CSRF token derived from that cookie with a
/// key this process draws at start. Before sign-in, a random pre-session cookie plays the same part for the
/// sign-in form, so that no other site can sign a browser in either.
struct ConsoleSessions: Sendable {
    static let sessionCookie = "agentbox_console"
    static let preSessionCookie = "agentbox_console_pre"
    /// A console session lasts half a day; the token itself may end sooner (revoked or expired).
    static let lifetime = 12 * 3600

    let tokens: TokenService
    /// Marks cookies Secure when the server speaks TLS.
    let secure: Bool
    private let key = SymmetricKey(size: .bits256)

    init(tokens: TokenService, secure: Bool) {
        self.tokens = tokens
        self.secure = secure
    }

    /// A signed-in user: the principal and the cookie value the CSRF token is derived from.
    struct SignedIn: Sendable {
        let principal: Principal
        let user: User
        let csrf: String
    }

    /// The signed-in user of `request`, or nil (no cookie, or a token that is not a live user token).
    func signedIn(_ request: Request) async -> SignedIn? {
        guard let token = Self.cookie(Self.sessionCookie, in: request),
            let principal = try? await tokens.authenticate(token, from: RequestSource.address), case .user(let user) = principal
        else { return nil }
        return SignedIn(principal: principal, user: user, csrf: csrf(for: token))
    }

    /// The CSRF token of a session (or pre-session) cookie value.
    func csrf(for value: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(("console-csrf:" + value).utf8), using: key).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether a posted form's CSRF token is the one of `expected` (compared in constant time).
    static func matches(_ posted: String?, _ expected: String) -> Bool {
        guard let posted, posted.utf8.count == expected.utf8.count else { return false }
        return zip(posted.utf8, expected.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// A fresh pre-session value for the sign-in form.
    static func newPreSession() -> String {
        SymmetricKey(size: .bits128).withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
    }

    /// The Set-Cookie value that stores `value` under `name` (empty `value` and no lifetime clears it).
    func setCookie(_ name: String, _ value: String, lifetime: Int) -> String {
        "\(name)=\(value); Path=/console; HttpOnly; SameSite=Strict; Max-Age=\(lifetime)" + (secure ? "; Secure" : "")
    }

    /// A cookie of the request by name.
    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    let value = parts[1].trimmingCharacters(in: .whitespaces)
                    return value.isEmpty ? nil : value
                }
            }
        }
        return nil
    }
}

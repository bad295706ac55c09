import Foundation
import Storage
import Vault

/// The text form of a token: `abx_<kind letter>_<43 base64url characters of 32 random bytes><6-character checksum>`.
///
/// The prefix makes a leaked token recognisable (secret scanners can match `abx_[uate]_`), and the
/// checksum catches a mistyped or truncated token before any database lookup.
enum TokenFormat {
    static let randomCount = 32
    static let bodyLength = 43
    static let checksumLength = 6
    /// How many leading characters are stored in clear to help people tell their tokens apart.
    static let displayPrefixLength = 12

    static func letter(_ kind: TokenKind) -> String {
        switch kind {
        case .user: "u"
        case .agent: "a"
        case .toolbox: "t"
        case .enrollment: "e"
        }
    }

    /// A new random token of `kind`.
    static func generate(_ kind: TokenKind) -> String {
        let head = "abx_\(letter(kind))_" + randomText()
        return head + checksum(head)
    }

    /// ``randomCount`` random bytes as base64url without padding (43 characters).
    static func randomText() -> String {
        var generator = SystemRandomNumberGenerator()
        return base64url((0..<randomCount).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// The kind of a well-formed token; throws `unauthenticated` naming what is wrong with any other text.
    static func parse(_ token: String) throws -> TokenKind {
        let parts = token.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "abx",
            let kind = TokenKind.allCases.first(where: { letter($0) == parts[1] })
        else {
            throw ServiceError(.unauthenticated, "the token is not an agentbox token (they start with abx_u_, abx_a_, abx_t_ or abx_e_)")
        }
        let rest = parts[2]
        guard rest.count == bodyLength + checksumLength else {
            throw ServiceError(.unauthenticated, "the token has the wrong length; copy it again in full")
        }
        let head = token.dropLast(checksumLength)
        guard checksum(String(head)) == token.suffix(checksumLength) else {
            throw ServiceError(.unauthenticated, "the token's checksum does not match: it was mistyped or cut short")
        }
        return kind
    }

    /// The clear-text start of a token that lists show.
    static func displayPrefix(_ token: String) -> String { String(token.prefix(displayPrefixLength)) }

    private static func checksum(_ head: String) -> String {
        String(base64url(Digest.blake2b(Array(head.utf8), count: 16)).prefix(checksumLength))
    }

    private static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

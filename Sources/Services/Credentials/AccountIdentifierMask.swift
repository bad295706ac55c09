import Foundation

/// Masks the account identifier a client sends with a credential, so that only a hint of it is ever stored or shown.
///
/// - An e-mail address keeps the first four characters of its local part, the first two of its domain
///   and its top-level domain: `user@gmail.com` becomes `user@gm***.com`, `alexander@example.org`
///   becomes `alex***@ex***.org`.
/// - Anything else keeps its first two and last two characters when it has at least eight
///   (`+15551234567` becomes `+1***67`), otherwise its first character (`bob` becomes `b***`).
///
/// Nothing is ever derived from the secret itself: without an identifier from the client there is none.
public enum AccountIdentifierMask {
    /// The longest identifier accepted (an e-mail address is at most 254 characters).
    public static let limit = 254
    static let stars = "***"

    /// Checks and masks `identifier`; nil stays nil, and an empty or blank one counts as none.
    public static func mask(_ identifier: String?) throws -> String? {
        guard let identifier else { return nil }
        let trimmed = identifier.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        guard identifier.unicodeScalars.count <= limit else {
            throw ServiceError(.invalidRequest, "account_identifier must be at most \(limit) characters")
        }
        guard !trimmed.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
            throw ServiceError(.invalidRequest, "account_identifier must not contain control characters")
        }
        return masked(trimmed)
    }

    /// The masked form of a checked, non-empty identifier.
    static func masked(_ identifier: String) -> String {
        let characters = Array(identifier)
        if let at = characters.lastIndex(of: "@"), at > 0, at < characters.count - 1 {
            let local = characters[..<at]
            let domain = characters[(at + 1)...]
            let maskedLocal = local.count <= 4 ? String(local) : String(local.prefix(4)) + stars
            let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
            let maskedDomain: String
            let hint = String(labels[0].prefix(2))
            if labels.count >= 2, let tld = labels.last, !tld.isEmpty, !labels[0].isEmpty {
                maskedDomain = hint + stars + "." + String(tld)
            } else {
                maskedDomain = String(domain.prefix(2)) + stars
            }
            return maskedLocal + "@" + maskedDomain
        }
        if characters.count >= 8 {
            return String(characters.prefix(2)) + stars + String(characters.suffix(2))
        }
        return String(characters.prefix(1)) + stars
    }
}

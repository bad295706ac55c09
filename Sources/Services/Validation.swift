import Foundation

/// Checks of request fields shared by every service, each failing with a message that names the field.
enum Validation {
    /// A trimmed, non-empty name of at most `limit` characters without control characters. Characters are Unicode
    /// code points, as JSON Schema's `maxLength` in the OpenAPI document counts them (not grapheme clusters).
    static func name(_ value: String, field: String = "name", limit: Int = 100) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ServiceError(.invalidRequest, "\(field) must not be empty") }
        guard value.unicodeScalars.count <= limit else { throw ServiceError(.invalidRequest, "\(field) must be at most \(limit) characters") }
        guard !trimmed.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
            throw ServiceError(.invalidRequest, "\(field) must not contain control characters")
        }
        return trimmed
    }

    /// Optional free text of at most `limit` characters (code points).
    static func text(_ value: String?, field: String, limit: Int = 2_000) throws -> String? {
        guard let value else { return nil }
        guard value.unicodeScalars.count <= limit else { throw ServiceError(.invalidRequest, "\(field) must be at most \(limit) characters") }
        return value
    }

    /// A lifetime in seconds, turned into an expiry time; nil means no expiry.
    static func expiry(seconds: Int?, field: String = "expires_in_seconds") throws -> Date? {
        guard let seconds else { return nil }
        guard seconds > 0, seconds <= 10 * 365 * 86_400 else {
            throw ServiceError(.invalidRequest, "\(field) must be between 1 and \(10 * 365 * 86_400) (ten years)")
        }
        return Date().addingTimeInterval(TimeInterval(seconds))
    }
}

/// `format: email`, with the rule of Python `jsonschema`'s format checker: the string contains `@`.
///
/// Deliberately lenient (RFC 5322 addresses are too varied to check well); add a `pattern` for more.
enum EmailFormat {
    static func isValid(_ string: String) -> Bool {
        string.unicodeScalars.contains("@")
    }
}

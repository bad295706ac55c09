/// The one error type of the JSONSchema module: a code to match on, a message for people, and the cause.
///
/// Messages name where the problem is (a JSON pointer into the schema, or a line and column of JSON
/// text) but never quote the text itself: the text may be a credential.
public struct JSONSchemaError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, as a value callers can match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case invalidJSON = "invalid_json"
            case unsupportedKeyword = "unsupported_keyword"
            case invalidKeywordValue = "invalid_keyword_value"
            case unsupportedFormat = "unsupported_format"
            case unsupportedPattern = "unsupported_pattern"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The text is not JSON (RFC 8259), or nests too deeply, or repeats an object key.
        public static let invalidJSON = Code(.invalidJSON)
        /// The schema uses a keyword this validator does not implement (such as `$ref` or `oneOf`).
        public static let unsupportedKeyword = Code(.unsupportedKeyword)
        /// A keyword's value has the wrong type or range (such as `"minLength": -1`).
        public static let invalidKeywordValue = Code(.invalidKeywordValue)
        /// `format` names a format other than `email` or `uri`.
        public static let unsupportedFormat = Code(.unsupportedFormat)
        /// `pattern` is not a regular expression, or uses syntax outside the supported subset.
        public static let unsupportedPattern = Code(.unsupportedPattern)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String
    /// The JSON pointer of the schema location at fault (`""` is the root), when the error is about a schema.
    public let pointer: String?
    /// The keyword at fault, when the error is about one.
    public let keyword: String?
    public let cause: (any Error & Sendable)?

    public init(
        _ code: Code, _ message: String, pointer: String? = nil, keyword: String? = nil,
        cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.pointer = pointer
        self.keyword = keyword
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}

/// One way an instance fails a schema.
///
/// The message describes the rule, never the instance's value: instances may be credentials.
public struct JSONSchemaViolation: Sendable, Hashable, CustomStringConvertible {
    /// JSON pointer of the failing part of the instance (`""` is the whole instance, `/api_key` a member).
    public let instancePointer: String
    /// The schema keyword that failed, such as `minLength`.
    public let keyword: String
    /// JSON pointer of the failing keyword in the schema, such as `/properties/api_key/minLength`.
    public let schemaPointer: String
    /// What is expected, for people; names no instance value.
    public let message: String

    public init(instancePointer: String, keyword: String, schemaPointer: String, message: String) {
        self.instancePointer = instancePointer
        self.keyword = keyword
        self.schemaPointer = schemaPointer
        self.message = message
    }

    /// The message with its subject: `/api_key must have at least 8 characters (minLength)`.
    public var description: String {
        "\(instancePointer.isEmpty ? "the value" : instancePointer) \(message) (\(keyword))"
    }
}

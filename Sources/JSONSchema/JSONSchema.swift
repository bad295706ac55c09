/// A compiled JSON Schema (a subset of draft 2020-12) that validates instances.
///
/// Compiling refuses any keyword, format or pattern syntax it does not implement, so a schema
/// that compiles is enforced in full. Supported: `type`, `enum`, `const`, `properties`,
/// `required`, `additionalProperties`, `items`, `minLength`/`maxLength` (code points), `pattern`,
/// `minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum`, `minItems`/`maxItems`,
/// `minProperties`/`maxProperties`, `format` (`email`, `uri`), boolean schemas, and the
/// annotations `$schema`, `$id`, `$comment`, `title`, `description`, `default`, `examples`.
public struct JSONSchema: Sendable {
    /// The schema document as given.
    public let document: JSONValue
    private let root: SchemaNode

    /// Every keyword a schema object may use.
    public static var supportedKeywords: [String] { SchemaCompiler.keywords.sorted() }
    /// The values `format` may take.
    public static let supportedFormats = FormatCheck.formats
    /// The only `$schema` URI accepted.
    public static let draft202012 = Annotations.draft202012

    /// Compiles a schema, refusing what it cannot enforce with an error naming the schema pointer and keyword.
    public init(_ schema: JSONValue) throws(JSONSchemaError) {
        document = schema
        root = try SchemaCompiler().compile(schema, at: [], reachedBy: "")
    }

    /// Parses and compiles a schema from JSON text.
    public init(parsing bytes: some Collection<UInt8>) throws(JSONSchemaError) {
        try self.init(JSONValue(parsing: bytes))
    }

    /// Parses and compiles a schema from JSON text.
    public init(parsing text: String) throws(JSONSchemaError) {
        try self.init(JSONValue(parsing: text))
    }

    /// Every violation of the schema by `instance`, in a stable order; empty if it is valid.
    public func validate(_ instance: JSONValue) -> [JSONSchemaViolation] {
        var context = ValidationContext(stopAtFirst: false)
        root.validate(instance, &context)
        return context.violations
    }

    /// True if `instance` satisfies the schema (stops at the first violation).
    public func isValid(_ instance: JSONValue) -> Bool {
        var context = ValidationContext(stopAtFirst: true)
        root.validate(instance, &context)
        return context.violations.isEmpty
    }
}

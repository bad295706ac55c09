/// One compiled keyword of a schema object.
protocol KeywordCheck: Sendable {
    func validate(_ instance: JSONValue, _ context: inout ValidationContext)
}

/// A compiled (sub)schema: a boolean schema, or the checks of a schema object in a fixed order.
struct SchemaNode: Sendable {
    enum Body: Sendable {
        /// A boolean schema (`true` or `false`); `{}` compiles to `always(true)`.
        case always(Bool)
        case checks([any KeywordCheck])
    }

    let body: Body
    /// Pointer of this schema within the root schema.
    let pointer: String
    /// The keyword through which the parent reached this schema (`""` at the root); names `false` schema violations.
    let reachedBy: String

    func validate(_ instance: JSONValue, _ context: inout ValidationContext) {
        switch body {
        case .always(true): return
        case .always(false): context.fail(reachedBy.isEmpty ? "false" : reachedBy, at: pointer, Self.falseMessage(reachedBy))
        case .checks(let checks):
            for check in checks {
                if context.isDone { return }
                check.validate(instance, &context)
            }
        }
    }

    private static func falseMessage(_ keyword: String) -> String {
        switch keyword {
        case "additionalProperties": "is not allowed: the schema permits no properties besides the ones it lists"
        case "properties": "is not allowed: the schema forbids this property"
        case "items": "is not allowed: the schema permits no array items"
        default: "is not allowed: the schema here is false"
        }
    }
}

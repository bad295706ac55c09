/// `enum`: the instance must equal one of the listed values (JSON equality: `1 == 1.0`, `true != 1`).
struct EnumCheck: KeywordCheck {
    let values: [JSONValue]
    let pointer: String

    init(_ site: KeywordSite) throws(JSONSchemaError) {
        guard case .array(let values) = site.value else { throw site.invalid("an array") }
        self.values = values
        pointer = site.pointer
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext) {
        if values.contains(instance) { return }
        context.fail("enum", at: pointer, "must be one of \(Self.describe(values))")
    }

    /// The allowed values as schema text when short, else just their count; never the instance.
    static func describe(_ values: [JSONValue]) -> String {
        let text = values.map(\.jsonText).joined(separator: ", ")
        if values.isEmpty { return "no value (the schema's enum is empty)" }
        return text.count <= 160 ? "the values the schema allows: \(text)" : "the \(values.count) values the schema allows"
    }
}

/// `const`: the instance must equal the given value.
struct ConstCheck: KeywordCheck {
    let value: JSONValue
    let pointer: String

    init(_ site: KeywordSite) {
        value = site.value
        pointer = site.pointer
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext) {
        if instance == value { return }
        let text = value.jsonText
        context.fail(
            "const", at: pointer, text.count <= 160 ? "must equal \(text)" : "must equal the value the schema requires")
    }
}

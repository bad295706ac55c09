/// `type`: the instance must have one of the listed JSON types (`integer` also accepts `1.0`).
struct TypeCheck: KeywordCheck {
    static let names = ["null", "boolean", "object", "array", "number", "integer", "string"]

    let types: [String]
    let pointer: String

    init(_ site: KeywordSite) throws(JSONSchemaError) {
        let expectation = "a type name (\(Self.names.joined(separator: ", "))) or a non-empty array of distinct type names"
        switch site.value {
        case .string(let name) where Self.names.contains(name):
            types = [name]
        case .array(let elements) where !elements.isEmpty:
            var names: [String] = []
            for element in elements {
                guard case .string(let name) = element, Self.names.contains(name), !names.contains(name) else {
                    throw site.invalid(expectation)
                }
                names.append(name)
            }
            types = names
        default:
            throw site.invalid(expectation)
        }
        pointer = site.pointer
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext) {
        if types.contains(where: { Self.matches(instance, $0) }) { return }
        let expected = types.map(Self.withArticle).joined(separator: " or ")
        context.fail("type", at: pointer, "must be \(expected), but is \(Self.withArticle(instance.typeName))")
    }

    static func matches(_ instance: JSONValue, _ type: String) -> Bool {
        switch (type, instance) {
        case ("null", .null), ("boolean", .bool), ("object", .object), ("array", .array), ("string", .string),
            ("number", .integer), ("number", .double), ("integer", .integer):
            true
        case ("integer", .double(let d)): JSONNumber.double(d).isIntegral
        default: false
        }
    }

    private static func withArticle(_ type: String) -> String {
        switch type {
        case "null": "null"
        case "object", "array", "integer": "an \(type)"
        default: "a \(type)"
        }
    }
}

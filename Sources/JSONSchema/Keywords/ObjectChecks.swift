/// `required`: the object must have each listed member.
struct RequiredCheck: KeywordCheck {
    let names: [String]
    let pointer: String

    init(_ site: KeywordSite) throws(JSONSchemaError) {
        let expectation = "an array of distinct strings"
        guard case .array(let elements) = site.value else { throw site.invalid(expectation) }
        var names: [String] = []
        for element in elements {
            guard case .string(let name) = element, !names.contains(where: { JSONValue.string($0) == element })
            else { throw site.invalid(expectation) }
            names.append(name)
        }
        self.names = names
        pointer = site.pointer
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext) {
        guard case .object(let members) = instance else { return }
        for name in names where members.exactValue(forKey: name) == nil {
            context.fail("required", at: pointer, "is missing the required property \(JSONValue.string(name).jsonText)")
        }
    }
}

/// `properties` and `additionalProperties`, compiled together: members named in `properties` match
/// their schema; all others match `additionalProperties` (anything goes when it is absent).
struct PropertiesCheck: KeywordCheck {
    let properties: [String: SchemaNode]
    let additional: SchemaNode?

    init(properties: KeywordSite?, additional: KeywordSite?, compiler: SchemaCompiler) throws(JSONSchemaError) {
        var nodes: [String: SchemaNode] = [:]
        if let site = properties {
            guard case .object(let members) = site.value else { throw site.invalid("an object whose values are schemas") }
            for (name, schema) in members {
                nodes[name] = try compiler.compile(schema, at: site.schemaPath + [site.keyword, name], reachedBy: site.keyword)
            }
        }
        self.properties = nodes
        if let site = additional {
            self.additional = try compiler.compile(
                site.value, at: site.schemaPath + [site.keyword], reachedBy: site.keyword)
        } else {
            self.additional = nil
        }
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext) {
        guard case .object(let members) = instance else { return }
        for name in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            if context.isDone { return }
            guard let schema = properties.exactValue(forKey: name) ?? additional else { continue }
            let value = members[name]!
            context.descend(name) { schema.validate(value, &$0) }
        }
    }
}

/// `items`: every element of an array must match one schema.
struct ItemsCheck: KeywordCheck {
    let schema: SchemaNode

    init(_ site: KeywordSite, compiler: SchemaCompiler) throws(JSONSchemaError) {
        if case .array = site.value {
            throw site.invalid("a single schema; the array form of older drafts is not supported")
        }
        schema = try compiler.compile(site.value, at: site.schemaPath + [site.keyword], reachedBy: site.keyword)
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext) {
        guard case .array(let elements) = instance else { return }
        for (index, element) in elements.enumerated() {
            if context.isDone { return }
            context.descend(String(index)) { schema.validate(element, &$0) }
        }
    }
}

/// Turns a schema document into `SchemaNode`s, refusing anything it cannot honour exactly.
struct SchemaCompiler {
    /// Deepest schema nesting accepted, matching the JSON parser's limit.
    static let maximumDepth = JSONParser.maximumDepth

    func compile(_ schema: JSONValue, at path: [String], reachedBy: String) throws(JSONSchemaError) -> SchemaNode {
        let pointer = JSONPointer.string(path)
        if path.count > Self.maximumDepth {
            throw JSONSchemaError(
                .invalidKeywordValue, "Schema refused at \(JSONPointer.display(pointer)): it nests deeper than \(Self.maximumDepth) levels; flatten it.",
                pointer: pointer)
        }
        switch schema {
        case .bool(let b):
            return SchemaNode(body: .always(b), pointer: pointer, reachedBy: reachedBy)
        case .object(let members):
            let checks = try compileObject(members, at: path)
            return SchemaNode(body: checks.isEmpty ? .always(true) : .checks(checks), pointer: pointer, reachedBy: reachedBy)
        default:
            let via = reachedBy.isEmpty ? "" : " (under \"\(reachedBy)\")"
            throw JSONSchemaError(
                .invalidKeywordValue,
                "Schema refused at \(JSONPointer.display(pointer))\(via): a schema must be an object or a boolean, not \(schema.typeName == "null" ? "null" : "a value of type \(schema.typeName)").",
                pointer: pointer, keyword: reachedBy.isEmpty ? nil : reachedBy)
        }
    }

    private func compileObject(_ members: [String: JSONValue], at path: [String]) throws(JSONSchemaError) -> [any KeywordCheck] {
        // Refuse unknown keywords first, in a stable order, so the error names the same keyword every time. Keywords
        // starting with `x-` are the schema author's annotations (agentbox reads `x-agentbox-header`): they check nothing.
        for keyword in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        where !Self.keywords.contains(keyword) && !keyword.hasPrefix("x-") {
            throw Self.unsupported(keyword, at: path + [keyword])
        }
        func site(_ keyword: String) -> KeywordSite? {
            guard let value = members.exactValue(forKey: keyword) else { return nil }
            return KeywordSite(keyword: keyword, value: value, schemaPath: path)
        }

        for keyword in Annotations.keywords { if let site = site(keyword) { try Annotations.check(site) } }

        var checks: [any KeywordCheck] = []
        if let site = site("type") { checks.append(try TypeCheck(site)) }
        if let site = site("enum") { checks.append(try EnumCheck(site)) }
        if let site = site("const") { checks.append(ConstCheck(site)) }
        for keyword in BoundCheck.keywords { if let site = site(keyword) { checks.append(try BoundCheck(site)) } }
        for keyword in SizeCheck.keywords { if let site = site(keyword) { checks.append(try SizeCheck(site)) } }
        if let site = site("pattern") { checks.append(try PatternCheck(site)) }
        if let site = site("format") { checks.append(try FormatCheck(site)) }
        if let site = site("items") { checks.append(try ItemsCheck(site, compiler: self)) }
        if let site = site("required") { checks.append(try RequiredCheck(site)) }
        if site("properties") != nil || site("additionalProperties") != nil {
            checks.append(
                try PropertiesCheck(properties: site("properties"), additional: site("additionalProperties"), compiler: self))
        }
        return checks
    }

    /// Every keyword a schema object may hold.
    static let keywords: Set<String> = Set(
        ["type", "enum", "const", "pattern", "format", "items", "required", "properties", "additionalProperties"]
            + BoundCheck.keywords + SizeCheck.keywords + Annotations.keywords)

    /// Keywords of JSON Schema 2020-12 (and older drafts) that are known but not implemented.
    private static let knownUnsupported: Set<String> = [
        "$ref", "$dynamicRef", "$anchor", "$dynamicAnchor", "$defs", "definitions", "$vocabulary", "$recursiveRef",
        "$recursiveAnchor", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas",
        "dependentRequired", "dependencies", "prefixItems", "additionalItems", "contains", "minContains",
        "maxContains", "uniqueItems", "unevaluatedItems", "unevaluatedProperties", "patternProperties",
        "propertyNames", "multipleOf", "contentEncoding", "contentMediaType", "contentSchema", "deprecated",
        "readOnly", "writeOnly",
    ]

    private static func unsupported(_ keyword: String, at path: [String]) -> JSONSchemaError {
        let pointer = JSONPointer.string(path)
        let what =
            knownUnsupported.contains(keyword)
            ? "the JSON Schema keyword \"\(keyword)\" is not supported by this validator"
            : "\"\(keyword)\" is not a supported JSON Schema keyword"
        let supported = keywords.sorted().joined(separator: ", ")
        return JSONSchemaError(
            .unsupportedKeyword, "Schema refused at \(pointer): \(what); remove it or express the rule with: \(supported).",
            pointer: pointer, keyword: keyword)
    }
}

/// One keyword of a schema object being compiled: its value and where it sits, for error messages.
struct KeywordSite {
    let keyword: String
    let value: JSONValue
    /// Path of the schema object holding the keyword.
    let schemaPath: [String]

    /// Pointer of the keyword itself, such as `/properties/a/minLength`.
    var pointer: String { JSONPointer.string(schemaPath + [keyword]) }

    /// An `.invalidKeywordValue` error saying what the value must be.
    func invalid(_ expectation: String) -> JSONSchemaError {
        JSONSchemaError(
            .invalidKeywordValue, "Schema refused at \(pointer): the value of \"\(keyword)\" must be \(expectation).",
            pointer: pointer, keyword: keyword)
    }

    /// The value as a count (`minLength` and friends): a non-negative integer, `2.0` allowed; huge values saturate.
    func nonNegativeInteger() throws(JSONSchemaError) -> Int {
        switch value {
        case .integer(let i) where i >= 0: return Int(clamping: i)
        case .double(let d) where d >= 0 && JSONNumber.double(d).isIntegral:
            return d >= Double(Int.max) ? Int.max : Int(d)
        default: throw invalid("a non-negative integer")
        }
    }

    /// The value as a string.
    func string() throws(JSONSchemaError) -> String {
        guard case .string(let s) = value else { throw invalid("a string") }
        return s
    }
}

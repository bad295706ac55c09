import JSONSchema
import Testing

/// Compiling refuses every schema it could not enforce in full, naming where and why.
struct CompileTests {
    /// Compiles `schema` expecting an error; returns it.
    private func refusal(_ schema: JSONValue) -> JSONSchemaError? {
        do {
            _ = try JSONSchema(schema)
            Issue.record("compiled \(schema.jsonText)")
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        "$ref", "$defs", "$anchor", "$dynamicRef", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
        "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas", "prefixItems", "contains",
        "uniqueItems", "multipleOf", "unevaluatedProperties", "contentEncoding", "readOnly", "typo", "Type",
    ])
    func refusesUnsupportedKeywords(keyword: String) throws {
        let error = try #require(refusal(["properties": ["nested": ["type": "string", keyword: [:]]]]))
        #expect(error.code == .unsupportedKeyword)
        #expect(error.keyword == keyword)
        #expect(error.pointer == "/properties/nested/\(keyword)")
        #expect(error.message.contains("/properties/nested/\(keyword)"))
        #expect(error.message.contains("\"\(keyword)\""))
    }

    @Test func annotationsStartingWithXCheckNothingAndOthersStayRefused() throws {
        let schema = try JSONSchema(
            ["type": "object", "properties": ["api_key": ["type": "string", "x-agentbox-header": "Authorization", "x-agentbox-prefix": "Bearer "]]])
        #expect(schema.validate(["api_key": "sk-1"]).isEmpty)
        #expect(!schema.validate(["api_key": 1]).isEmpty)
        #expect(refusal(["properties": ["api_key": ["xagentbox": "Authorization"]]])?.code == .unsupportedKeyword)
    }

    @Test(arguments: ["date-time", "date", "ipv4", "hostname", "uuid", "regex", "idn-email", "iri", "URI", ""])
    func refusesOtherFormats(format: String) throws {
        let error = try #require(refusal(["items": ["format": .string(format)]]))
        #expect(error.code == .unsupportedFormat)
        #expect(error.pointer == "/items/format")
    }

    @Test(arguments: [
        ("minLength", -1), ("maxLength", 1.5), ("minItems", "2"), ("maxItems", true), ("minProperties", nil),
        ("maxProperties", -0.5), ("required", "x"), ("required", [1]), ("required", ["a", "a"]), ("type", "text"),
        ("type", []), ("type", ["string", "string"]), ("type", 1), ("enum", "a"), ("minimum", "1"),
        ("maximum", true), ("exclusiveMinimum", nil), ("exclusiveMaximum", [1]), ("properties", []),
        ("properties", ["a": 1]), ("additionalProperties", "no"), ("items", [["type": "string"]]), ("items", 1),
        ("pattern", 1), ("format", 1), ("title", 1), ("description", false), ("$comment", []), ("examples", 1),
        ("$schema", "http://json-schema.org/draft-07/schema#"), ("$id", "urn:x#frag"), ("$id", 1),
    ] as [(String, JSONValue)])
    func refusesWrongTypedValues(keyword: String, value: JSONValue) throws {
        let error = try #require(refusal(["properties": ["a": [keyword: value]]]))
        #expect(error.code == .invalidKeywordValue)
        #expect(error.keyword == keyword)
        #expect(error.message.contains("/properties/a/\(keyword)"))
    }

    @Test(arguments: [
        "(", ")", "[a", "a{", "a}", "]", "*a", "a**", "a*+", "a{2,1}", "a{1001}", "(?<name>x)", "(?<=a)b", "(?P<n>x)",
        "(?i)a", "\\1", "(a)\\1", "\\p{L}", "\\k<a>", "\\c", "\\q", "\\", "[]", "[^]", "[z-a]", "[\\d-z]", "[a[b]",
        "[a-c-e]", "[a-b-]x[x-]", "^*", "(?=a)*", "\\b+", "\\ud800", "\\x4", "\\u12", "[\\b]", "\\A", "\\Z", "\\z",
        "a{,3}", "(a*)*", "(?:|a)+", "(a?){2}", "(\\b|x)*", "(?:(?=a))?", "(^)*", "(a|b?)+?",
    ])
    func refusesPatternsOutsideTheSubset(pattern: String) throws {
        if pattern == "[a-b-]x[x-]" {  // both hyphens are last in their class: accepted
            _ = try JSONSchema(["pattern": .string(pattern)])
            return
        }
        let error = try #require(refusal(["pattern": .string(pattern)]))
        #expect(error.code == .unsupportedPattern)
        #expect(error.pointer == "/pattern")
        #expect(error.message.contains("/pattern"))
    }

    @Test(arguments: [
        "^[a-z]+$", "\\d{3}-\\d{4}", "^(foo|bar)?baz*?$", "[\\-_.]", "\\bword\\b", "(?=.*\\d)(?!x)", "[^\\s\\d]",
        "\\x41\\u00e9\\t\\/", "a{2}b{2,}c{2,3}?", "[-a]", "[a-]", "[^-a]", "é+", "()", "a|", "(a|b)*", "(a+)?", "(?:a*b)+", "\\$\\{\\}\\[\\]\\(\\)",
    ])
    func acceptsPatternsInTheSubset(pattern: String) throws {
        _ = try JSONSchema(["pattern": .string(pattern)])
    }

    @Test func refusesNonSchemas() throws {
        let root = try #require(refusal(1))
        #expect(root.code == .invalidKeywordValue)
        #expect(root.message.contains("the root"))
        let nested = try #require(refusal(["properties": ["a": "string"]]))
        #expect(nested.pointer == "/properties/a")
    }

    @Test func escapesPointerTokens() throws {
        let error = try #require(refusal(["properties": ["a/b~c": ["oneOf": []]]]))
        #expect(error.pointer == "/properties/a~1b~0c/oneOf")
    }

    @Test func acceptsEverySupportedKeywordAndAnnotation() throws {
        let schema: JSONValue = [
            "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.com/tool.json",
            "$comment": "c", "title": "t", "description": "d", "default": ["x": 1], "examples": [[:]],
            "type": ["object", "null"], "required": ["api_key"], "minProperties": 1, "maxProperties": 5.0,
            "additionalProperties": false,
            "properties": [
                "api_key": ["type": "string", "minLength": 8, "maxLength": 128, "pattern": "^sk-"],
                "email": ["format": "email"], "endpoint": ["format": "uri"], "mode": ["enum": ["a", "b"]],
                "version": ["const": 2], "retries": ["type": "integer", "minimum": 0, "maximum": 10],
                "ratio": ["exclusiveMinimum": 0, "exclusiveMaximum": 1.5],
                "tags": ["type": "array", "items": ["type": "string"], "minItems": 0, "maxItems": 3],
                "anything": true, "nothing": false, "empty": [:],
            ],
        ]
        _ = try JSONSchema(schema)
        _ = try JSONSchema(true)
        _ = try JSONSchema(false)
        _ = try JSONSchema(["$schema": "https://json-schema.org/draft/2020-12/schema#"])
        #expect(JSONSchema.supportedKeywords.contains("additionalProperties"))
        #expect(JSONSchema.supportedFormats == ["email", "uri"])
    }

    @Test func parsesSchemaText() throws {
        let schema = try JSONSchema(parsing: #"{"type": "string"}"#)
        #expect(schema.isValid("x"))
        #expect(throws: JSONSchemaError.self) { try JSONSchema(parsing: "{") }
    }

    @Test func errorDescriptionsAreMessages() throws {
        let error = try #require(refusal(["minLength": -1]))
        #expect(error.description == error.message)
        #expect(error.code.description == "invalid_keyword_value")
    }
}

import JSONSchema
import Testing

/// Each keyword accepts and rejects what it should, and violations say where without saying what.
struct ValidationTests {
    private func schema(_ value: JSONValue) throws -> JSONSchema { try JSONSchema(value) }

    /// Expects `valid` to pass and `invalid` to fail, each violation naming `keyword`.
    private func check(
        _ schemaValue: JSONValue, valid: [JSONValue], invalid: [JSONValue], keyword: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let schema = try JSONSchema(schemaValue)
        for instance in valid {
            #expect(schema.validate(instance) == [], "\(instance.jsonText)", sourceLocation: sourceLocation)
            #expect(schema.isValid(instance), sourceLocation: sourceLocation)
        }
        for instance in invalid {
            let violations = schema.validate(instance)
            #expect(!violations.isEmpty, "\(instance.jsonText)", sourceLocation: sourceLocation)
            #expect(violations.allSatisfy { $0.keyword == keyword }, "\(violations)", sourceLocation: sourceLocation)
            #expect(!schema.isValid(instance), sourceLocation: sourceLocation)
        }
    }

    @Test func type() throws {
        try check(["type": "integer"], valid: [1, 1.0, -0.0, 1e20], invalid: [1.5, "1", true, nil], keyword: "type")
        try check(["type": "number"], valid: [1, 1.5], invalid: [true, "1", [1]], keyword: "type")
        try check(["type": ["string", "null"]], valid: ["", nil], invalid: [0, false, [:]], keyword: "type")
        try check(["type": "boolean"], valid: [true, false], invalid: [0, "true"], keyword: "type")
        try check(["type": "object"], valid: [[:]], invalid: [[]], keyword: "type")
        try check(["type": "array"], valid: [[]], invalid: [[:]], keyword: "type")
    }

    @Test func typeMessageNamesTypesOnly() throws {
        let violation = try #require(try schema(["type": ["string", "null"]]).validate(42).first)
        #expect(violation.message == "must be a string or null, but is an integer")
        #expect(violation.instancePointer == "")
        #expect(violation.schemaPointer == "/type")
        #expect(violation.description == "the value must be a string or null, but is an integer (type)")
    }

    @Test func enumAndConst() throws {
        try check(["enum": [1, "a", [1, 2], ["k": true]]], valid: [1.0, "a", [1.0, 2], ["k": true]],
                  invalid: [true, "A", [2, 1], ["k": 1], nil], keyword: "enum")
        try check(["enum": []], valid: [], invalid: [nil, 0], keyword: "enum")
        try check(["const": 0], valid: [0, -0.0, 0.0], invalid: [false, nil, "0", 1e-300], keyword: "const")
        try check(["const": ["a": [nil]]], valid: [["a": [nil]]], invalid: [["a": []], ["a": [nil], "b": 1]], keyword: "const")
        try check(["const": "é"], valid: ["\u{E9}"], invalid: ["e\u{301}"], keyword: "const")
    }

    @Test func numericBounds() throws {
        try check(["minimum": 2], valid: [2, 2.0, 3, "x", true], invalid: [1, 1.999], keyword: "minimum")
        try check(["maximum": 2.5], valid: [2.5, 2, -1], invalid: [3, 2.51], keyword: "maximum")
        try check(["exclusiveMinimum": 2], valid: [2.0001, 3], invalid: [2, 2.0, 1], keyword: "exclusiveMinimum")
        try check(["exclusiveMaximum": 0], valid: [-1, -0.5], invalid: [0, -0.0, 1], keyword: "exclusiveMaximum")
        // Past 2^53 doubles and integers still compare exactly.
        try check(["maximum": 9_007_199_254_740_992.0], valid: [.integer(9_007_199_254_740_992)],
                  invalid: [.integer(9_007_199_254_740_993)], keyword: "maximum")
        try check(["exclusiveMaximum": 9_223_372_036_854_775_808.0], valid: [.integer(Int64.max)], invalid: [1e19], keyword: "exclusiveMaximum")
    }

    @Test func lengthsCountCodePoints() throws {
        try check(["minLength": 2], valid: ["ab", "e\u{301}", "👍🏽", "🇫🇷"], invalid: ["é", "😀", ""], keyword: "minLength")
        try check(["maxLength": 1], valid: ["", "é", "😀", 5], invalid: ["e\u{301}", "ab"], keyword: "maxLength")
    }

    @Test func pattern() throws {
        try check(["pattern": "^sk-[A-Za-z0-9]{8,}$"], valid: ["sk-abcdEFGH", "sk-12345678", 7],
                  invalid: ["sk-short", "xsk-abcdefgh", "sk-abcdefgh\n", "sk-abcdefgh!"], keyword: "pattern")
        try check(["pattern": "b"], valid: ["abc", "b"], invalid: ["", "ac"], keyword: "pattern")  // a search, not a full match
        try check(["pattern": "^a.c$"], valid: ["abc", "a😀c", "aéc"], invalid: ["a\nc", "a\rc", "a\u{2028}c", "ac"], keyword: "pattern")
        try check(["pattern": "^\\d+$"], valid: ["0123"], invalid: ["١٢", "12a"], keyword: "pattern")  // ASCII digits, like ECMA-262
        try check(["pattern": "^\\w+$"], valid: ["a_1"], invalid: ["é", "a-b"], keyword: "pattern")
        try check(["pattern": "^\\s$"], valid: [" ", "\t", "\u{A0}", "\u{3000}"], invalid: ["\u{1C}", "x"], keyword: "pattern")
        try check(["pattern": "^[^\\d\\s]+$"], valid: ["abc", "é"], invalid: ["a1", "a b"], keyword: "pattern")
        try check(["pattern": "\\bcat\\b"], valid: ["a cat!", "cat"], invalid: ["cats", "concat"], keyword: "pattern")
        try check(["pattern": "^[a&&b]$"], valid: ["&", "a"], invalid: ["ab"], keyword: "pattern")  // no ICU set operators
        try check(["pattern": "^(?=.*\\d)(?!.*x).{3}$"], valid: ["ab1"], invalid: ["abc", "x12", "1234"], keyword: "pattern")
    }

    @Test func formats() throws {
        try check(["format": "email"], valid: ["a@b", "user@example.com", "@", 12], invalid: ["", "no-at-sign"], keyword: "format")
        try check(
            ["format": "uri"],
            valid: [
                "https://example.com", "http://user:pw@host:8080/p/a?q=1&r=%20#frag", "mailto:someone@example.com",
                "urn:isbn:0451450523", "file:///etc/hosts", "ftp://[2001:db8::1]:21/x", "http://[::ffff:1.2.3.4]/",
                "http://[v1.fe80::a+en1]/", "tel:+1-816-555-1212", "a:", "x-y.z+w:rest", 3,
            ],
            invalid: [
                "", "not a uri", "/relative/path", "example.com", "://missing-scheme", "1http://x", "http://exa mple.com",
                "https://example.com/%zz", "https://example.com/ü", "http://host:port/", "http://[::1/", "http://[1:2]/",
                "http://a@b@c/", "http://x/#a#b", "http://x/<>", "http://[1.2.3.4]/",
            ],
            keyword: "format")
    }

    @Test func objects() throws {
        try check(["required": ["a", "b"]], valid: [["a": 1, "b": nil, "c": 2], "x"], invalid: [["a": 1], [:]], keyword: "required")
        try check(["properties": ["a": ["type": "string"]]], valid: [["a": "x"], ["b": 1], [:], 7], invalid: [["a": 1]], keyword: "type")
        try check(["properties": ["a": true], "additionalProperties": false], valid: [["a": 1], [:]],
                  invalid: [["b": 1], ["a": 1, "é": 2]], keyword: "additionalProperties")
        try check(["additionalProperties": ["type": "integer"]], valid: [["a": 1, "b": 2.0]], invalid: [["a": "1"]], keyword: "type")
        try check(["properties": ["a": false]], valid: [["b": 1]], invalid: [["a": nil]], keyword: "properties")
        try check(["minProperties": 1, "maxProperties": 2], valid: [["a": 1], ["a": 1, "b": 2], []], invalid: [[:]], keyword: "minProperties")
        try check(["maxProperties": 1], valid: [[:]], invalid: [["a": 1, "b": 2]], keyword: "maxProperties")
    }

    @Test func arrays() throws {
        try check(["items": ["type": "integer"]], valid: [[], [1, 2.0], "x"], invalid: [[1, "2"], [nil]], keyword: "type")
        try check(["items": false], valid: [[]], invalid: [[1]], keyword: "items")
        try check(["minItems": 1], valid: [[1], [:]], invalid: [[]], keyword: "minItems")
        try check(["maxItems": 1], valid: [[1]], invalid: [[1, 2]], keyword: "maxItems")
    }

    @Test func booleanSchemas() throws {
        try check(true, valid: [nil, 1, [:]], invalid: [], keyword: "")
        try check(false, valid: [], invalid: [nil, 1, [:]], keyword: "false")
        try check([:], valid: [nil, "x"], invalid: [], keyword: "")
    }

    @Test func violationsCarryPointersAndEveryFailure() throws {
        let schema = try schema([
            "type": "object", "required": ["api_key", "region"], "additionalProperties": false,
            "properties": [
                "api_key": ["type": "string", "minLength": 20, "pattern": "^sk-"], "region": ["type": "string"],
                "limits": ["type": "array", "items": ["type": "object", "properties": ["a/b": ["maximum": 3]]]],
            ],
        ])
        let violations = schema.validate(["api_key": "pk-short", "limits": [["a/b": 1], ["a/b": 4]], "extra": 1])
        let found = Set(violations.map { "\($0.instancePointer) \($0.keyword) \($0.schemaPointer)" })
        #expect(
            found == [
                " required /required",
                "/api_key minLength /properties/api_key/minLength",
                "/api_key pattern /properties/api_key/pattern",
                "/extra additionalProperties /additionalProperties",
                "/limits/1/a~1b maximum /properties/limits/items/properties/a~1b/maximum",
            ])
        #expect(violations.count == 5)
        #expect(violations.contains { $0.message == "is missing the required property \"region\"" })
        #expect(schema.validate(["api_key": "sk-0123456789abcdefghij", "region": "eu"]) == [])
    }

    @Test func messagesNeverContainInstanceValues() throws {
        let canary = "sk-CANARY-8f14e45fceea167a5a36dedd4bea2543"
        let schema = try schema([
            "type": "object", "additionalProperties": ["type": "integer"],
            "properties": [
                "a": ["type": "integer"], "b": ["minLength": 100], "c": ["maxLength": 3], "d": ["pattern": "^x$"],
                "e": ["format": "uri"], "f": ["enum": ["x", "y"]], "g": ["const": "x"], "h": ["items": ["type": "number"]],
                "i": false, "j": ["format": "email"], "k": ["minimum": 1e9], "l": ["type": "object", "required": ["z"]],
            ],
        ])
        let secret = JSONValue.string(canary)
        let instance: JSONValue = [
            "a": secret, "b": secret, "c": secret, "d": secret, "e": .string("has space \(canary)"), "f": secret, "g": secret,
            "h": [secret, secret], "i": secret, "j": secret, "k": 8_765_432, "l": [canary: secret], "zz": secret,
        ]
        let violations = schema.validate(instance)
        #expect(violations.count == 14)
        for violation in violations {
            for text in [violation.message, violation.description, "\(violation)"] {
                #expect(!text.contains("CANARY"), "\(text)")
                #expect(!text.contains("8765432"), "\(text)")
                #expect(!text.contains("\(canary.count)"), "length leaked: \(text)")
            }
        }
    }

    @Test func isValidAgreesWithValidate() throws {
        let schema = try schema(["items": ["minimum": 0], "minItems": 2])
        for instance: JSONValue in [[], [1], [1, 2], [-1, 2], [-1, -2, -3]] {
            #expect(schema.isValid(instance) == schema.validate(instance).isEmpty)
        }
        #expect(schema.validate([-1, -2, -3]).map(\.instancePointer) == ["/0", "/1", "/2"])
    }
}

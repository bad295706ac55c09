import JSONSchema

/// A small deterministic random number generator (SplitMix64), so generated pairs are the same every run.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) < p * 1_000_000 }

    mutating func pick<T>(_ options: [T]) -> T { options[int(0...options.count - 1)] }
}

/// Generates (schema, instance) pairs within the supported keywords, for the differential test.
///
/// Patterns come from a fixed list and from a random grammar over the supported subset. Strings
/// tested against them are printable ASCII (and tab), where ECMA-262, ICU and Python's `re` agree
/// on `\d \w \s \b`, `.` and `$`. `format: uri` instances are valid URIs (or not strings)
/// unless `uriAsserted`: without an optional dependency, Python's checker accepts any string.
struct SchemaPairGenerator {
    var rng: SplitMix64
    let uriAsserted: Bool

    init(seed: UInt64, uriAsserted: Bool) {
        rng = SplitMix64(seed: seed)
        self.uriAsserted = uriAsserted
    }

    // MARK: Pools

    static let keys = ["a", "b", "api_key", "name", "x y", "é", "n/0", "t~1"]

    static let scalars: [JSONValue] = [
        nil, true, false, 0, 1, 1.0, -1, 2.5, -0.5, 3, 1e3, "", "a", "b", "é", "e\u{301}", "😀", "1", "true",
        .integer(9_007_199_254_740_993), 9_007_199_254_740_992.0, .integer(Int64.max), 9_223_372_036_854_775_808.0,
        .integer(Int64.min),
    ]

    static let composites: [JSONValue] = [
        [], [:], [1, 2.0], [1.0, 2], [2, 1], ["a": 1], ["a": 1.0], ["a": true], ["a": 1, "b": [nil]], [[true]],
        [[1]], ["é": []],
    ]

    static let numbers: [JSONValue] = [
        0, 1, -1, 2, 3, 5, 10, -3, 1.0, 2.5, -0.5, 0.1, 7.25, 1e2, 3.0, 9_007_199_254_740_992.0,
        .integer(9_007_199_254_740_993), .integer(Int64.max), 9_223_372_036_854_775_808.0, -1e300,
    ]

    /// Patterns inside the supported subset, each with strings that match and strings that do not.
    static let patterns: [(String, [String])] = [
        ("^[a-z]+$", ["abc", "Abc", "", "abc1", "z"]),
        ("^sk-[A-Za-z0-9]{8,}$", ["sk-abcdEFGH12", "sk-short", "pk-abcdefghij", "sk-abcdefgh", "sk-abcdefg!"]),
        ("\\d{3}", ["abc123", "12", "x1234", "ab 12 3"]),
        ("^(foo|bar)baz?$", ["foo", "barba", "barbaz", "foobazz", "baz"]),
        ("a.c", ["abc", "a-c", "ac", "xxa c"]),
        ("^\\w+@\\w+\\.com$", ["me@example.com", "me@example.org", "@x.com", "a_b@c.com", "a-b@c.com"]),
        ("^[^\\s]+$", ["nospace", "has space", "", "tab\there"]),
        ("colou?r", ["color", "colour", "colr", "COLOR"]),
        ("^\\S+$", ["x", " x", "x\t", ""]),
        ("^(?:ab)+$", ["ab", "abab", "aba", ""]),
        ("^x{2,3}$", ["x", "xx", "xxx", "xxxx"]),
        ("[\\-_.]", ["a-b", "a_b", "a.b", "ab"]),
        ("^$", ["", "a", " "]),
        ("\\bword\\b", ["a word here", "swordfish", "word", "words", "word!"]),
        ("^a*?b", ["b", "aab", "aa", "cab"]),
        ("^(?=.*[0-9])(?=.*[a-z]).{6,}$", ["abc123", "abcdef", "123456", "a1", "ABC123x"]),
        ("^[A-Z][a-z]*(?: [A-Z][a-z]*)*$", ["Hello World", "hello", "Hello world", "A B"]),
        ("^\\d+(\\.\\d{1,2})?$", ["10", "10.5", "10.55", "10.555", ".5"]),
        ("^[^@]+@[^@]+$", ["a@b", "a@@b", "@b", "ab"]),
        ("\\$\\{[a-z]+\\}", ["${abc}", "$abc", "${ABC}", "x${y}z"]),
        ("^[a-f0-9]{8}-[a-f0-9]{4}$", ["deadbeef-0123", "DEADBEEF-0123", "deadbeef0123"]),
        ("^\\x41\\u0042[\\t ]?$", ["AB", "AB ", "AB\t", "ab", "AB  "]),
        ("^(?!bad)\\w{3}$", ["bad", "bat", "good", "b_d"]),
        ("^[^a-c]{2}$", ["de", "ab", "d", "d-"]),
        ("^\\W+$", ["!!", "a!", " -"]),
        ("^\\D*$", ["abc", "a1", ""]),
        ("ab|cd", ["xabx", "xcdx", "acbd"]),
        ("^(a|b)*c{0,1}$", ["ababc", "abcc", "", "c"]),
        ("\\Boo", ["foo", "oof", "oo"]),
        ("^[.]+$", ["...", "a.b"]),
        ("^[\\d\\s]+$", ["1 2", "12", "a 1"]),
        ("^[^\\d\\s]+$", ["abc", "a1", "a b"]),
        ("^[-+]?\\d*\\.?\\d+$", ["-1.5", "+.5", "1.", "1"]),
        ("é+", ["café", "cafe", "éé"]),
        ("^a{0}b", ["b", "ab"]),
        ("^(a+)+$", ["aaaa", "aaab"]),
        ("[\\]\\[]", ["[", "]", "x"]),
    ]

    /// Printable ASCII used for random strings that meet a pattern.
    static let patternAlphabet = Array("abcxyzABC0123 _-.@${}!o(\t").map(String.init)
    /// Characters for strings whose length is counted: one, two or more code points per glyph.
    static let lengthAlphabet = ["a", "b", "Z", "1", " ", "é", "e\u{301}", "😀", "👍🏽", "🇫🇷", "中", "ß", "\n"]

    static let emails = ["user@example.com", "no-at-sign", "@", "a@b", "", "x@", "two@@ats", "spa ce@x"]
    static let validURIs = [
        "https://example.com", "http://user:pw@host:8080/p/a/t/h?q=1&r=2#frag", "mailto:someone@example.com",
        "urn:isbn:0451450523", "file:///etc/hosts", "ftp://[2001:db8::1]:21/x", "https://example.com/%20space",
        "tel:+1-816-555-1212", "ldap://[2001:db8::7]/c=GB?objectClass?one", "news:comp.infosystems.www.servers.unix",
        "https://xn--bcher-kva.example/",
    ]
    static let invalidURIs = ["not a uri", "/relative/path", "http://exa mple.com", "://missing-scheme", "https://x/%zz"]

    // MARK: Schemas

    /// A schema document (object or boolean) nesting at most `depth` more levels.
    mutating func schema(depth: Int, root: Bool = false) -> JSONValue {
        if rng.chance(root ? 0.04 : 0.12) { return .bool(rng.chance(0.6)) }
        var members: [(String, JSONValue)] = []
        let kinds = ["string", "number", "object", "array", "enum", "const", "type", "mixed"]
        let kind = depth <= 0 ? rng.pick(["string", "number", "enum", "const", "type"]) : rng.pick(kinds)
        switch kind {
        case "string": members += stringKeywords(typed: rng.chance(0.7))
        case "number": members += numberKeywords(typed: rng.chance(0.7))
        case "object": members += objectKeywords(depth: depth, typed: rng.chance(0.7))
        case "array": members += arrayKeywords(depth: depth, typed: rng.chance(0.7))
        case "enum":
            members.append(("enum", .array((0..<rng.int(0...4)).map { _ in value() })))
        case "const": members.append(("const", value()))
        case "type": members.append(("type", typeValue()))
        default:
            members += stringKeywords(typed: false)
            members += numberKeywords(typed: false)
            if depth > 0, rng.chance(0.5) { members += arrayKeywords(depth: depth - 1, typed: false) }
            if rng.chance(0.4) { members.append(("type", typeValue())) }
        }
        members += annotations(root: root)
        return .object(Dictionary(members, uniquingKeysWith: { first, _ in first }))
    }

    private mutating func typeValue() -> JSONValue {
        let names = ["null", "boolean", "object", "array", "number", "integer", "string"]
        if rng.chance(0.5) { return .string(rng.pick(names)) }
        var chosen: [String] = []
        for name in names where rng.chance(0.35) { chosen.append(name) }
        if chosen.isEmpty { chosen = [rng.pick(names)] }
        return .array(chosen.map(JSONValue.string))
    }

    private mutating func count(upTo max: Int) -> JSONValue {
        let n = rng.int(0...max)
        return rng.chance(0.1) ? .double(Double(n)) : .integer(Int64(n))
    }

    private mutating func stringKeywords(typed: Bool) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = typed ? [("type", "string")] : []
        if rng.chance(0.4) { out.append(("minLength", count(upTo: 4))) }
        if rng.chance(0.4) { out.append(("maxLength", count(upTo: 6))) }
        let r = rng.int(0...9)
        if r < 3 {
            out.append(("pattern", .string(rng.pick(Self.patterns).0)))
        } else if r < 4 {
            out.append(("pattern", .string(randomPattern())))
        } else if r < 6 {
            out.append(("format", .string(rng.pick(["email", "uri"]))))
        }
        return out
    }

    private mutating func numberKeywords(typed: Bool) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = typed ? [("type", rng.chance(0.5) ? "integer" : "number")] : []
        for keyword in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] where rng.chance(0.35) {
            out.append((keyword, rng.pick(Self.numbers)))
        }
        return out
    }

    private mutating func objectKeywords(depth: Int, typed: Bool) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = typed ? [("type", "object")] : []
        var properties: [(String, JSONValue)] = []
        if rng.chance(0.85) {
            for key in Self.keys where rng.chance(0.3) { properties.append((key, schema(depth: depth - 1))) }
            out.append(("properties", .object(Dictionary(uniqueKeysWithValues: properties))))
        }
        if rng.chance(0.5) {
            var required: [String] = []
            for (key, _) in properties where rng.chance(0.6) { required.append(key) }
            if rng.chance(0.15) { required.append("missing") }
            out.append(("required", .array(required.map(JSONValue.string))))
        }
        switch rng.int(0...5) {
        case 0, 1: out.append(("additionalProperties", false))
        case 2: out.append(("additionalProperties", true))
        case 3: out.append(("additionalProperties", schema(depth: depth - 1)))
        default: break
        }
        if rng.chance(0.2) { out.append(("minProperties", count(upTo: 3))) }
        if rng.chance(0.2) { out.append(("maxProperties", count(upTo: 3))) }
        return out
    }

    private mutating func arrayKeywords(depth: Int, typed: Bool) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = typed ? [("type", "array")] : []
        if rng.chance(0.75) { out.append(("items", schema(depth: depth - 1))) }
        if rng.chance(0.35) { out.append(("minItems", count(upTo: 3))) }
        if rng.chance(0.35) { out.append(("maxItems", count(upTo: 4))) }
        return out
    }

    private mutating func annotations(root: Bool) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = []
        if root, rng.chance(0.3) { out.append(("$schema", "https://json-schema.org/draft/2020-12/schema")) }
        if root, rng.chance(0.15) { out.append(("$id", "https://example.com/schemas/tool.json")) }
        if rng.chance(0.1) { out.append(("title", "A title")) }
        if rng.chance(0.1) { out.append(("description", "Described.")) }
        if rng.chance(0.05) { out.append(("$comment", "note")) }
        if rng.chance(0.08) { out.append(("default", value())) }
        if rng.chance(0.05) { out.append(("examples", [value(), value()])) }
        return out
    }

    // MARK: Random patterns

    /// A random pattern inside the supported subset (no quantified group that can match nothing).
    mutating func randomPattern() -> String { patternAlternatives(depth: 0).pattern }

    private mutating func patternAlternatives(depth: Int) -> (pattern: String, nullable: Bool) {
        var (out, nullable) = patternSequence(depth: depth)
        if rng.chance(0.25) {
            let other = patternSequence(depth: depth)
            out += "|" + other.pattern
            nullable = nullable || other.nullable
        }
        return (out, nullable)
    }

    private mutating func patternSequence(depth: Int) -> (pattern: String, nullable: Bool) {
        var out = ""
        var nullable = true
        for _ in 0..<rng.int(1...3) {
            let (atom, quantifiable, atomNullable) = patternAtom(depth: depth)
            if quantifiable, !atomNullable, rng.chance(0.35) {
                let quantifier = rng.pick(["*", "+", "?", "{2}", "{1,}", "{0,2}", "*?", "+?", "??", "{1,3}?"])
                out += atom + quantifier
                nullable = nullable && !["+", "{2}", "{1,}", "+?", "{1,3}?"].contains(quantifier)
            } else {
                out += atom
                nullable = nullable && atomNullable
            }
        }
        return (out, nullable)
    }

    /// One atom: its text, whether it may be quantified, and whether it can match nothing.
    private mutating func patternAtom(depth: Int) -> (String, Bool, Bool) {
        let literals = ["a", "b", "c", "x", "0", "1", " ", "-", "_", "@", "!", "\\.", "\\-", "\\$", "\\(", "\\x41", "\\u0062", "\\t"]
        switch rng.int(0...(depth >= 2 ? 5 : 8)) {
        case 0, 1, 2: return (rng.pick(literals), true, false)
        case 3: return (rng.pick(["\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "."]), true, false)
        case 4:
            var set = rng.chance(0.3) ? "[^" : "["
            for _ in 0...rng.int(0...2) {
                switch rng.int(0...3) {
                case 0: set += rng.pick(["a-c", "0-5", "A-Z", "x-z", " -/"])
                case 1: set += rng.pick(["\\d", "\\w", "\\s", "\\D", "\\W", "\\S"])
                default: set += rng.pick(["a", "b", "1", "_", "\\-", "\\]", ".", "$", "@"])
                }
            }
            return (set + "]", true, false)
        case 5: return (rng.pick(["^", "$", "\\b", "\\B"]), false, true)
        case 6, 7:
            let (inner, nullable) = patternAlternatives(depth: depth + 1)
            return ((rng.chance(0.5) ? "(" : "(?:") + inner + ")", true, nullable)
        default:
            return ((rng.chance(0.5) ? "(?=" : "(?!") + patternAlternatives(depth: depth + 1).pattern + ")", false, true)
        }
    }

    /// A random printable ASCII string for a random pattern; never empty for `\B`, where Python
    /// before 3.14 differs from ECMA-262 (it finds no `\B` in an empty string).
    mutating func patternString(for pattern: String) -> String {
        let length = rng.int(pattern.contains("\\B") ? 1...6 : 0...6)
        // Half the time draw from the pattern's own characters, so more strings match.
        let own = pattern.filter { $0.isASCII && $0 != "\\" && ($0 == "\t" || !$0.isWhitespace || $0 == " ") }.map(String.init)
        let alphabet = rng.chance(0.5) && !own.isEmpty ? own + ["a", "1", " "] : Self.patternAlphabet
        return (0..<length).map { _ in rng.pick(alphabet) }.joined()
    }

    // MARK: Instances

    /// Any value from the pools, sometimes nested.
    mutating func value() -> JSONValue {
        rng.chance(0.75) ? rng.pick(Self.scalars) : rng.pick(Self.composites)
    }

    /// An instance aimed at `schema`: with `noise` 0 it tries to be valid; higher noise breaks more rules.
    mutating func instance(for schema: JSONValue, noise: Double) -> JSONValue {
        let instance = anyInstance(for: schema, noise: noise)
        // Python asserts `uri` only with an optional package; without it, only valid URIs can agree.
        if !uriAsserted, case .object(let s) = schema, s["format"] == "uri", case .string(let text) = instance,
            !Self.validURIs.contains(text)
        {
            return .string(rng.pick(Self.validURIs))
        }
        return instance
    }

    private mutating func anyInstance(for schema: JSONValue, noise: Double) -> JSONValue {
        guard case .object(let s) = schema else { return value() }
        if rng.chance(noise * 0.3) { return value() }  // anything at all
        if let values = s["enum"].flatMap(\.arrayValue), !values.isEmpty, !rng.chance(noise) {
            return twin(rng.pick(values))
        }
        if let constant = s["const"], !rng.chance(noise) { return twin(constant) }
        if s["enum"] != nil || s["const"] != nil { return rng.chance(0.5) ? value() : twin(rng.pick(Self.scalars)) }

        var types: [String] = []
        switch s["type"] {
        case .string(let t): types = [t]
        case .array(let ts): types = ts.compactMap(\.stringValue)
        default:
            if s["properties"] != nil || s["required"] != nil || s["additionalProperties"] != nil { types.append("object") }
            if s["items"] != nil || s["minItems"] != nil || s["maxItems"] != nil { types.append("array") }
            if s["pattern"] != nil || s["format"] != nil || s["minLength"] != nil || s["maxLength"] != nil {
                types.append("string")
            }
            if s["minimum"] != nil || s["maximum"] != nil || s["exclusiveMinimum"] != nil || s["exclusiveMaximum"] != nil {
                types.append("number")
            }
        }
        if types.isEmpty || rng.chance(noise * 0.3) { return value() }
        switch rng.pick(types) {
        case "object": return object(s, noise: noise)
        case "array": return array(s, noise: noise)
        case "string": return string(s, noise: noise)
        case "number": return number(s, noise: noise, integer: false)
        case "integer": return number(s, noise: noise, integer: true)
        case "boolean": return .bool(rng.chance(0.5))
        default: return .null
        }
    }

    /// The same value, or an equal one written differently (`1` as `1.0`, and back).
    private mutating func twin(_ value: JSONValue) -> JSONValue {
        guard rng.chance(0.4) else { return value }
        switch value {
        case .integer(let i) where i > -(1 << 53) && i < 1 << 53: return .double(Double(i))
        case .double(let d) where d.rounded() == d && abs(d) < 9e15: return .integer(Int64(d))
        case .array(let a): return .array(a.map { twin($0) })
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for key in o.keys.sorted() { out[key] = twin(o[key]!) }  // sorted: dictionary order varies per process
            return .object(out)
        default: return value
        }
    }

    private mutating func object(_ s: [String: JSONValue], noise: Double) -> JSONValue {
        var out: [String: JSONValue] = [:]
        let properties = s["properties"]?.objectValue ?? [:]
        let required = Set((s["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        for key in properties.keys.sorted() {
            let mustHave = required.contains(key)
            if mustHave ? !rng.chance(noise * 0.5) : rng.chance(0.6) {
                out[key] = instance(for: properties[key]!, noise: noise)
            }
        }
        let additional = s["additionalProperties"]
        for key in required.sorted() where out[key] == nil && !rng.chance(noise * 0.5) {
            out[key] = (properties[key] ?? additional).map { instance(for: $0, noise: noise) } ?? value()
        }
        let extras = additional == .bool(false) ? (rng.chance(noise) ? 1 : 0) : rng.int(0...2)
        for _ in 0..<extras {
            let key = rng.pick(Self.keys + ["zz", "other"])
            if out[key] == nil {
                out[key] = (properties[key] ?? additional).map { instance(for: $0, noise: noise) } ?? value()
            }
        }
        return .object(out)
    }

    private mutating func array(_ s: [String: JSONValue], noise: Double) -> JSONValue {
        let low = s["minItems"]?.countValue ?? 0
        let high = s["maxItems"]?.countValue ?? low + 3
        var n = low <= high ? rng.int(low...high) : rng.int(0...4)
        if rng.chance(noise) { n = max(0, rng.chance(0.5) ? low - 1 : high + 1) }
        return .array((0..<n).map { _ in s["items"].map { instance(for: $0, noise: noise) } ?? value() })
    }

    private mutating func string(_ s: [String: JSONValue], noise: Double) -> JSONValue {
        if case .string(let pattern) = s["pattern"] {
            if let entry = Self.patterns.first(where: { $0.0 == pattern }), rng.chance(0.7) {
                return .string(rng.pick(entry.1))
            }
            return .string(patternString(for: pattern))
        }
        if case .string(let format) = s["format"] {
            if format == "email" { return .string(rng.pick(Self.emails)) }
            let uris = uriAsserted && rng.chance(noise) ? Self.invalidURIs : Self.validURIs
            return .string(rng.pick(uris))
        }
        let low = s["minLength"]?.countValue ?? 0
        let high = s["maxLength"]?.countValue ?? low + 4
        var n = low <= high ? rng.int(low...high) : rng.int(0...5)
        if rng.chance(noise) { n = max(0, rng.chance(0.5) ? low - 1 : high + 1) }
        return .string((0..<n).map { _ in rng.pick(Self.lengthAlphabet) }.joined())
    }

    private mutating func number(_ s: [String: JSONValue], noise: Double, integer: Bool) -> JSONValue {
        let bounds = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"].compactMap { s[$0] }
        if !bounds.isEmpty, rng.chance(0.7) {
            // Near a bound: on it, just inside or just outside, as an integer or a double.
            let bound = rng.pick(bounds)
            let base: Double
            switch bound {
            case .integer(let i):
                if rng.chance(0.5) { return .integer(i &+ Int64(rng.int(-1...1))) }
                base = Double(i)
            case .double(let d): base = d
            default: base = 0
            }
            let candidate = base + rng.pick([0, 0.5, -0.5, 1, -1])
            if (integer || rng.chance(0.3)), candidate.rounded() == candidate, abs(candidate) < 9e18 {
                return .integer(Int64(candidate))
            }
            return .double(integer && !rng.chance(noise) ? candidate.rounded() : candidate)
        }
        let n = rng.pick(Self.numbers)
        if integer, case .double(let d) = n, d.rounded() != d, !rng.chance(noise) { return .double(d.rounded()) }
        return n
    }
}

extension JSONValue {
    var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var objectValue: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }
    var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    var countValue: Int? {
        switch self {
        case .integer(let i): Int(i)
        case .double(let d): Int(d)
        default: nil
        }
    }
}

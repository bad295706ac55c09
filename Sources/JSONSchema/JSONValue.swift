/// A JSON document in memory, with JSON Schema's idea of equality.
///
/// Integers without a fraction or exponent are kept exact as `Int64`; other numbers are `Double`.
/// Equality is mathematical (`1 == 1.0`), object keys are unordered, booleans are never numbers
/// (`true != 1`), and strings compare by Unicode code points (not by canonical equivalence).
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in 64 bits.
    case integer(Int64)
    /// Any other number.
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

extension JSONValue {
    /// The JSON Schema type name of this value: `null`, `boolean`, `integer`, `number`, `string`, `array` or `object`.
    ///
    /// Doubles with no fractional part report `integer`, as JSON Schema counts them.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .double(let d): JSONNumber.double(d).isIntegral ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The number, if this value is one (booleans are not).
    var number: JSONNumber? {
        switch self {
        case .integer(let i): .integer(i)
        case .double(let d): .double(d)
        default: nil
        }
    }
}

extension Dictionary where Key == String {
    /// The value for `key` compared by exact code points: Swift's `String` equality alone would also
    /// match canonically equivalent keys (`"é"` and `"e\u{301}"`), which JSON treats as different.
    func exactValue(forKey key: String) -> Value? {
        guard let index = index(forKey: key), self[index].key.unicodeScalars.elementsEqual(key.unicodeScalars)
        else { return nil }
        return self[index].value
    }
}

extension JSONValue: Equatable {
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for (key, value) in a {
                guard let other = b.exactValue(forKey: key), other == value else { return false }
            }
            return true
        default:
            guard let a = lhs.number, let b = rhs.number else { return false }
            return a.compare(b) == .equal
        }
    }
}

extension JSONValue: Hashable {
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(1); hasher.combine(b)
        case .integer, .double: hasher.combine(2); number!.hash(into: &hasher)
        case .string(let s):
            hasher.combine(3)
            for scalar in s.unicodeScalars { hasher.combine(scalar.value) }
        case .array(let a): hasher.combine(4); hasher.combine(a)
        case .object(let o):
            hasher.combine(5)
            // Order-independent: combine the sum of each member's own hash.
            var sum = 0
            for (key, value) in o {
                var member = Hasher()
                for scalar in key.unicodeScalars { member.combine(scalar.value) }
                member.combine(value)
                sum &+= member.finalize()
            }
            hasher.combine(sum)
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? container.decode(Int64.self) {
            self = .integer(i)
        } else if let d = try? container.decode(Double.self) {
            self = .double(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else if let o = try? container.decode([String: JSONValue].self) {
            self = .object(o)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .integer(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

import Foundation
import JSONSchema
import Testing

/// Parsing and printing JSON, and JSON Schema's notion of equality.
struct JSONValueTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONValue(parsing: #" { "a": [1, -2.5, true, false, null, "x\n\u00e9\ud83d\ude00"], "b": {} } "#)
        #expect(value == ["a": [1, -2.5, true, false, nil, "x\né😀"], "b": [:]])
    }

    @Test func printsSortedCompactTextThatParsesBack() throws {
        let value: JSONValue = ["b": [1, 2.5, "q\"\\\u{1}"], "a": nil, "é": true, "Z": [:]]
        #expect(value.jsonText == #"{"Z":{},"a":null,"b":[1,2.5,"q\"\\\u0001"],"é":true}"#)
        #expect(try JSONValue(parsing: value.jsonText) == value)
        #expect(try JSONValue(parsing: Data(value.jsonText.utf8)) == value)
    }

    @Test func keepsIntegersExact() throws {
        #expect(try JSONValue(parsing: "9223372036854775807") == .integer(Int64.max))
        #expect(try JSONValue(parsing: "-9223372036854775808") == .integer(Int64.min))
        #expect(try JSONValue(parsing: "9007199254740993") == .integer(9_007_199_254_740_993))
        #expect(try JSONValue(parsing: "9007199254740993") != .double(9_007_199_254_740_992))
        #expect(try JSONValue(parsing: "9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(JSONValue.integer(Int64.max) != .double(9_223_372_036_854_775_808))
        #expect(JSONValue.integer(Int64.max).jsonText == "9223372036854775807")
    }

    @Test func numbersCompareMathematically() throws {
        #expect(JSONValue.integer(1) == .double(1.0))
        #expect(try JSONValue(parsing: "1") == JSONValue(parsing: "1.0"))
        #expect(try JSONValue(parsing: "100") == JSONValue(parsing: "1e2"))
        #expect(JSONValue.integer(0) == .double(-0.0))
        #expect(JSONValue.integer(1) != .double(1.5))
        #expect(Set<JSONValue>([.integer(1), .double(1.0), .integer(2)]).count == 2)
        #expect(JSONValue.double(1.0).jsonText == "1.0")
    }

    @Test func booleansAreNotNumbers() {
        #expect(JSONValue.bool(true) != .integer(1))
        #expect(JSONValue.bool(false) != .integer(0))
        #expect(JSONValue.array([true]) != .array([1]))
    }

    @Test func objectsAreUnorderedAndArraysOrdered() throws {
        #expect(try JSONValue(parsing: #"{"a":1,"b":[1,2]}"#) == JSONValue(parsing: #"{"b":[1.0,2],"a":1.0}"#))
        #expect(try JSONValue(parsing: "[1,2]") != JSONValue(parsing: "[2,1]"))
        #expect(try JSONValue(parsing: #"{"a":1}"#) != JSONValue(parsing: #"{"a":1,"b":2}"#))
    }

    @Test func stringsCompareByCodePoints() {
        #expect(JSONValue.string("é") != .string("e\u{301}"))
        #expect(JSONValue.string("é") == .string("\u{E9}"))
    }

    @Test func codableRoundTrips() throws {
        let value: JSONValue = ["a": [1, 2.5, "x", nil, true], "b": ["c": -7]]
        let data = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
        #expect(try JSONValue(parsing: data) == value)
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "+1", "NaN", "Infinity", "'x'", "tru",
        "[1 2]", "{\"a\" 1}", "{a:1}", "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"", "\"a\tb\"", "\"abc", "1 2",
        "{\"a\":1,\"a\":2}", "1e400", "\u{FEFF}1",
    ])
    func refusesInvalidJSON(text: String) {
        #expect(throws: JSONSchemaError.self) { try JSONValue(parsing: text) }
        do {
            _ = try JSONValue(parsing: text)
        } catch {
            #expect(error.code == .invalidJSON)
        }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONSchemaError.self) { try JSONValue(parsing: [0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func errorsGiveLineAndColumnButNotTheText() throws {
        let text = "{\n  \"api_key\": \"sk-canary-123\",\n  \"x\": tru\n}"
        do {
            _ = try JSONValue(parsing: text)
            Issue.record("parsed invalid JSON")
        } catch {
            #expect(error.code == .invalidJSON)
            #expect(error.message.contains("line 3, column 8"))
            #expect(!error.description.contains("sk-canary"))
            #expect(!error.description.contains("tru"))
        }
    }

    @Test func refusesNestingDeeperThan512() throws {
        let deep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(throws: JSONSchemaError.self) { try JSONValue(parsing: deep) }
        let fine = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try JSONValue(parsing: fine)
    }
}

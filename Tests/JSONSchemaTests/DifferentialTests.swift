import Foundation
import JSONSchema
import Testing

/// The validator agrees with Python's `jsonschema` (Draft202012Validator with its format checker)
/// on generated (schema, instance) pairs that cover every supported keyword.
struct DifferentialTests {
    private static let oracle = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Interop/jsonschema_oracle.py").path

    /// Hand-picked pairs on the edges where implementations often differ.
    private static let edgePairs: [(JSONValue, JSONValue)] = [
        (["enum": [1]], 1.0), (["enum": [1.0]], 1), (["enum": [true]], 1), (["enum": [0]], false),
        (["const": [1, 2.0]], [1.0, 2]), (["const": ["a": 1]], ["a": 1.0]), (["const": nil], 0),
        (["const": "é"], "e\u{301}"), (["const": [:]], []), (["type": "integer"], 1.0), (["type": "integer"], 1e20),
        (["type": "integer"], -0.0), (["type": "integer"], 0.5), (["type": "number"], true),
        (["maximum": 9_007_199_254_740_992.0], .integer(9_007_199_254_740_993)),
        (["minimum": .integer(9_007_199_254_740_993)], 9_007_199_254_740_992.0),
        (["exclusiveMaximum": 9_223_372_036_854_775_808.0], .integer(Int64.max)),
        (["minimum": .integer(Int64.max)], 9_223_372_036_854_775_808.0), (["exclusiveMinimum": 0], -0.0),
        (["maxLength": 1], "👍🏽"), (["maxLength": 1], "😀"), (["minLength": 2], "e\u{301}"), (["maxLength": 0], ""),
        (["minLength": 2.0], "ab"), (["pattern": "^a.c$"], "a😀c"), (["pattern": "^\\x41\\u00e9$"], "Aé"),
        (["format": "email"], 5), (["format": "uri"], nil), (["items": false], []), (["items": false], [nil]),
        (["properties": ["a": false]], ["b": 1]), (["properties": ["a": false]], ["a": 1]), (false, nil), (true, nil),
        (["additionalProperties": false, "properties": ["a/b": true]], ["a/b": 1]), (["required": []], [:]),
        (["enum": []], nil), (["maxProperties": 0], [:]), (["required": ["é"]], ["e\u{301}": 1]),
    ]

    @Test func agreesWithPythonJSONSchema() throws {
        let uriAsserted = try runOracle(["--formats"]).split(separator: "\n").contains("uri")
        // Fixed seed so every run checks the same pairs; JSONSCHEMA_DIFF_SEED explores others.
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["JSONSCHEMA_DIFF_SEED"].flatMap { UInt64($0) } ?? 0x5EED_2020_12
        let schemaCount = environment["JSONSCHEMA_DIFF_SCHEMAS"].flatMap { Int($0) } ?? 180
        var generator = SchemaPairGenerator(seed: seed, uriAsserted: uriAsserted)
        var pairs = Self.edgePairs
        for index in 0..<schemaCount {
            let schema = generator.schema(depth: 3, root: true)
            for attempt in 0..<4 {  // one instance aimed at valid, three noisy ones
                pairs.append((schema, generator.instance(for: schema, noise: attempt == 0 ? 0 : 0.3 + 0.1 * Double(attempt + index % 3))))
            }
        }
        #expect(pairs.count >= 600 || environment["JSONSCHEMA_DIFF_SCHEMAS"] != nil)

        var used: Set<String> = []
        for (schema, _) in pairs { collectKeywords(schema, into: &used) }
        let required = Set(JSONSchema.supportedKeywords + ["boolean schema", "format:email", "format:uri"])
        #expect(required.subtracting(used).isEmpty, "keywords never generated: \(required.subtracting(used).sorted())")

        let (disagreements, valid) = try compare(pairs)
        print("JSON Schema differential: \(pairs.count) pairs, \(valid) valid, \(pairs.count - valid) invalid, uri asserted by python: \(uriAsserted), disagreements: \(disagreements.count)")
        #expect(disagreements.isEmpty, "\(disagreements.prefix(8).joined(separator: "\n"))")
        #expect(valid >= pairs.count / 4 && pairs.count - valid >= pairs.count / 4, "unbalanced: \(valid) valid of \(pairs.count)")
    }

    @Test func randomPatternsAgreeWithPythonRe() throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["JSONSCHEMA_DIFF_SEED"].flatMap { UInt64($0) } ?? 0xBADC_0FFE
        let patternCount = environment["JSONSCHEMA_DIFF_SCHEMAS"].flatMap { Int($0) } ?? 300
        var generator = SchemaPairGenerator(seed: seed, uriAsserted: false)
        var pairs: [(JSONValue, JSONValue)] = []
        for _ in 0..<patternCount {
            let pattern = generator.randomPattern()
            for _ in 0..<3 { pairs.append((["pattern": .string(pattern)], .string(generator.patternString(for: pattern)))) }
        }
        let (disagreements, valid) = try compare(pairs)
        print("JSON Schema pattern differential: \(pairs.count) pairs, \(valid) matching, \(pairs.count - valid) not, disagreements: \(disagreements.count)")
        #expect(disagreements.isEmpty, "\(disagreements.prefix(8).joined(separator: "\n"))")
        #expect(valid >= pairs.count / 5 && pairs.count - valid >= pairs.count / 5, "unbalanced: \(valid) of \(pairs.count)")
    }

    /// Runs the oracle and this validator on `pairs`; returns the disagreements and how many pairs are valid here.
    private func compare(_ pairs: [(JSONValue, JSONValue)]) throws -> (disagreements: [String], valid: Int) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("jsonschema-pairs-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        let lines = pairs.map { JSONValue.object(["schema": $0.0, "instance": $0.1]).jsonText }
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)

        let answers = try runOracle([file.path]).split(separator: "\n").map(String.init)
        try #require(answers.count == pairs.count, "oracle printed \(answers.count) answers for \(pairs.count) pairs")

        var disagreements: [String] = []
        var valid = 0
        for (index, (schemaValue, instance)) in pairs.enumerated() {
            let expected = answers[index]
            let schema: JSONSchema
            do {
                schema = try JSONSchema(schemaValue)
            } catch {
                disagreements.append("refused \(schemaValue.jsonText): \(error)")
                continue
            }
            let ours = schema.isValid(instance)
            #expect(ours == schema.validate(instance).isEmpty)
            if ours { valid += 1 }
            if expected != String(ours) {
                disagreements.append("python \(expected), swift \(ours): schema \(schemaValue.jsonText) instance \(instance.jsonText)")
            }
        }
        return (disagreements, valid)
    }

    /// Records the keywords (and boolean schemas, and formats) used anywhere in `schema`.
    private func collectKeywords(_ schema: JSONValue, into used: inout Set<String>) {
        switch schema {
        case .bool: used.insert("boolean schema")
        case .object(let members):
            for (keyword, value) in members {
                used.insert(keyword)
                switch keyword {
                case "properties": for (_, sub) in value.objectValue ?? [:] { collectKeywords(sub, into: &used) }
                case "items", "additionalProperties": collectKeywords(value, into: &used)
                case "format": used.insert("format:\(value.stringValue ?? "")")
                default: break
                }
            }
        default: break
        }
    }

    /// Runs the Python oracle with `arguments` and returns what it printed; fails on a non-zero exit.
    private func runOracle(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.oracle] + arguments
        let output = Pipe()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("jsonschema-oracle-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let printed = String(decoding: data, as: UTF8.self)
        let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        try #require(process.terminationStatus == 0, "python3 \(Self.oracle) failed: \(stderr)")
        return printed
    }
}

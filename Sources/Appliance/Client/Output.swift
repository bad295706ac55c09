import Foundation
import JSONSchema

/// A column of a table: its title and the field it shows (`a.b` reaches into an object).
struct Column: Sendable {
    let title: String
    let key: String

    init(_ title: String, _ key: String) {
        self.title = title
        self.key = key
    }
}

/// How client commands print the API's answers: the JSON unchanged with `--json`, else tables and records.
enum Output {
    /// Prints a page of a list as a table, or its JSON.
    static func page(_ reply: APIClient.Reply, json: Bool, columns: [Column], noun: String) throws {
        if json { return raw(reply) }
        let page = try reply.json
        guard case .array(let items)? = page.field("items") else { throw CLIError("the server's answer has no items") }
        if items.isEmpty {
            print("no \(noun)")
        } else {
            print(table(items, columns))
        }
        if case .integer(let total)? = page.field("total"), case .integer(let offset)? = page.field("offset"), total > offset + Int64(items.count) {
            print("(showing \(offset + 1)-\(offset + Int64(items.count)) of \(total); use --offset \(offset + Int64(items.count)) for more)")
        }
    }

    /// Prints one object as `field: value` lines (`first` fields in that order, then the rest by name, times last), or its JSON.
    static func record(_ reply: APIClient.Reply, json: Bool, first: [String] = ["id", "name"]) throws {
        if json { return raw(reply) }
        print(record(try reply.json, first: first))
    }

    /// Prints a line of text, or the JSON answer (nothing for an empty one).
    static func message(_ reply: APIClient.Reply, json: Bool, _ text: String) {
        if json { return raw(reply) }
        print(text)
    }

    /// Prints a newly issued token and its facts; the only place a token is ever printed.
    static func issuedToken(_ value: JSONValue, json: Bool, reply: APIClient.Reply) throws {
        if json { return raw(reply) }
        if let info = value.field("info") { print(record(info, first: ["id", "kind", "name", "prefix"])) }
        print(try tokenLine(value))
    }

    /// The line that shows an issued token (`{"token", "info"}`) once.
    static func tokenLine(_ issued: JSONValue) throws -> String {
        guard let token = issued.string("token") else { throw CLIError("the server's answer has no token") }
        return "token (shown once; keep it safe): \(token)"
    }

    /// The body as the server sent it.
    static func raw(_ reply: APIClient.Reply) {
        let text = reply.text
        guard !text.isEmpty else { return }
        print(text.hasSuffix("\n") ? String(text.dropLast()) : text)
    }

    /// Rows under a header, columns separated by two spaces.
    static func table(_ rows: [JSONValue], _ columns: [Column]) -> String {
        let cells = rows.map { row in columns.map { cell(row.field(path: $0.key)) } }
        let widths = columns.indices.map { index in
            ([columns[index].title] + cells.map { $0[index] }).map(\.count).max() ?? 0
        }
        func line(_ values: [String]) -> String {
            values.enumerated().map { index, value in
                index == values.count - 1 ? value : value + String(repeating: " ", count: widths[index] - value.count)
            }.joined(separator: "  ")
        }
        return ([line(columns.map(\.title))] + cells.map(line)).joined(separator: "\n")
    }

    /// An object as aligned `field: value` lines.
    static func record(_ value: JSONValue, first: [String]) -> String {
        guard case .object(let fields) = value else { return value.jsonText }
        let rest = fields.keys.filter { !first.contains($0) }.sorted { ($0.hasSuffix("_at") ? 1 : 0, $0) < ($1.hasSuffix("_at") ? 1 : 0, $1) }
        let keys = first.filter { fields[$0] != nil } + rest
        let width = keys.map(\.count).max() ?? 0
        return keys.map { key in
            key + ":" + String(repeating: " ", count: width - key.count + 1) + text(fields[key])
        }.joined(separator: "\n")
    }

    /// A value as a table cell: one line, long text shortened.
    private static func cell(_ value: JSONValue?) -> String {
        let full = text(value).replacingOccurrences(of: "\n", with: " ")
        return full.count > 60 ? String(full.prefix(59)) + "…" : full
    }

    /// A value for people: strings bare, absent or null as `-`, objects and arrays as compact JSON.
    private static func text(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: "-"
        case .string(let text)?: text
        case .bool(let flag)?: flag ? "true" : "false"
        case .integer(let number)?: String(number)
        case .double(let number)?: String(number)
        case let other?: other.jsonText
        }
    }
}

extension JSONValue {
    /// The member `key` of an object; nil for anything else.
    func field(_ key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields[key]
    }

    /// The member at a dotted path such as `info.prefix`.
    func field(path: String) -> JSONValue? {
        path.split(separator: ".").reduce(Optional(self)) { value, key in value?.field(String(key)) }
    }

    /// The string member `key`, if it is one.
    func string(_ key: String) -> String? {
        guard case .string(let text)? = field(key) else { return nil }
        return text
    }
}

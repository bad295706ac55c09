/// What the stand-in needs from the cloud-config agentbox gives a toolbox's droplet (Services' `CloudConfig`):
/// the enrollment token written to /etc/agentbox/enrollment-token and the `KEY=VALUE` lines of
/// /etc/agentbox/agent.conf.
///
/// The parser reads exactly that format (a `write_files` list whose entries have `path:` and a `content:` that is
/// a single-quoted scalar or a `|` block) rather than all of YAML; anything else is not agentbox's user-data and
/// the droplet runs nothing.
struct AgentboxUserData: Sendable {
    static let tokenPath = "/etc/agentbox/enrollment-token"
    static let configurationPath = "/etc/agentbox/agent.conf"

    let enrollmentToken: String
    /// agent.conf as written (its content block).
    let agentConf: String
    /// agent.conf's variables, in order.
    let variables: [(name: String, value: String)]

    /// A variable of agent.conf (the last one wins, as in systemd's EnvironmentFile).
    func variable(_ name: String) -> String? { variables.last { $0.name == name }?.value }

    /// Nil unless `text` is a cloud-config that writes both files, with a token fit for an HTTP header.
    init?(_ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        guard lines.first?.trimmingTrailingSpaces == "#cloud-config" else { return nil }
        let files = Self.writeFiles(lines)
        guard let token = files[Self.tokenPath], let configuration = files[Self.configurationPath] else { return nil }
        guard !token.isEmpty, token.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0.value < 127 }) else { return nil }
        enrollmentToken = token
        agentConf = configuration
        variables = Self.environmentFile(configuration)
    }

    // MARK: Parsing

    /// The content of every `write_files` entry, by path.
    private static func writeFiles(_ lines: [String]) -> [String: String] {
        guard let start = lines.firstIndex(where: { $0.trimmingTrailingSpaces == "write_files:" }) else { return [:] }
        var files: [String: String] = [:]
        var index = start + 1
        var itemIndent: Int?
        while index < lines.count {
            let line = lines[index]
            if line.isBlankOrComment {
                index += 1
                continue
            }
            let indent = line.indentation
            let text = line.dropFirst(indent)
            // The list ends at the next top-level key; its items all start with "- " at one indentation.
            guard indent > 0 || text.hasPrefix("- ") else { break }
            guard text.hasPrefix("- ") || text == "-", itemIndent == nil || itemIndent == indent else {
                index += 1
                continue
            }
            itemIndent = indent
            // The item's keys: the rest of the "- " line, then the lines indented deeper than the dash.
            var item: [(indent: Int, text: String)] = []
            let first = text.dropFirst(1)
            let firstIndent = indent + 1 + first.prefix { $0 == " " }.count
            if !first.trimmingTrailingSpaces.isEmpty { item.append((firstIndent, String(first.drop { $0 == " " }))) }
            index += 1
            while index < lines.count {
                let next = lines[index]
                if !next.trimmingTrailingSpaces.isEmpty, next.indentation <= indent { break }
                item.append((next.indentation, String(next.dropFirst(next.indentation))))
                index += 1
            }
            if let (path, content) = entry(item) { files[path] = content }
        }
        return files
    }

    /// The `path` and `content` of one `write_files` entry, its lines given with their indentation.
    private static func entry(_ lines: [(indent: Int, text: String)]) -> (String, String)? {
        guard let keyIndent = lines.first?.indent else { return nil }
        var path: String?
        var content: String?
        var index = 0
        while index < lines.count {
            let (indent, text) = lines[index]
            index += 1
            guard indent == keyIndent, let colon = text.firstIndex(of: ":") else { continue }
            let key = text[..<colon]
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "path": path = scalar(value)
            case "content":
                if value == "|" || value == "|-" {
                    // A literal block: the lines indented deeper than the key, their common indentation removed.
                    var block: [(indent: Int, text: String)] = []
                    while index < lines.count, lines[index].text.isEmpty || lines[index].indent > keyIndent {
                        block.append(lines[index])
                        index += 1
                    }
                    while block.last?.text.isEmpty == true { block.removeLast() }
                    let blockIndent = block.first { !$0.text.isEmpty }?.indent ?? 0
                    let body = block.map { line in
                        line.text.isEmpty ? "" : String(repeating: " ", count: max(0, line.indent - blockIndent)) + line.text
                    }.joined(separator: "\n")
                    content = value == "|" && !body.isEmpty ? body + "\n" : body
                } else {
                    content = scalar(value)
                }
            default: continue
            }
        }
        guard let path, let content else { return nil }
        return (path, content)
    }

    /// A plain, single-quoted (`''` is a quote) or simple double-quoted one-line scalar; nil for anything else.
    private static func scalar(_ value: String) -> String? {
        if value.count >= 2, value.hasPrefix("'"), value.hasSuffix("'") {
            return String(value.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'")
        }
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\""), !value.contains("\\") {
            return String(value.dropFirst().dropLast())
        }
        guard let first = value.first, !"'\"|>&*!%@`[{#".contains(first) else { return nil }
        if let comment = value.range(of: " #") { return String(value[..<comment.lowerBound]).trimmingTrailingSpaces }
        return value
    }

    /// `KEY=VALUE` lines as systemd's EnvironmentFile reads them: blank lines and `#` or `;` comments skipped,
    /// spaces around the name trimmed, one pair of surrounding quotes removed from the value.
    static func environmentFile(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "\n").compactMap { line in
            let line = line.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#"), !line.hasPrefix(";"), let equals = line.firstIndex(of: "=") else { return nil }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic),
                name.unicodeScalars.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) })
            else { return nil }
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote { value = String(value.dropFirst().dropLast()) }
            return (name, value)
        }
    }
}

extension StringProtocol {
    fileprivate var indentation: Int { prefix { $0 == " " }.count }
    fileprivate var trimmingTrailingSpaces: String {
        var text = Substring(self)
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
    fileprivate var isBlankOrComment: Bool {
        let text = drop { $0 == " " }
        return text.isEmpty || text.hasPrefix("#")
    }
}

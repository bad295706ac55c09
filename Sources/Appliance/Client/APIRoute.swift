/// One endpoint of the API as a client command names it: method and OpenAPI path, e.g.
/// `POST /api/v1/agents/{id}/tokens`.
struct APIRoute: Hashable, Sendable, CustomStringConvertible {
    let method: String
    let path: String

    init(_ method: String, _ path: String) {
        self.method = method
        self.path = path
    }

    var description: String { "\(method) \(path)" }

    /// The path with each `{name}` replaced by its percent-encoded value.
    func path(_ parameters: [String: String]) throws -> String {
        try path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return String(segment) }
            let name = String(segment.dropFirst().dropLast())
            guard let value = parameters[name], !value.isEmpty else { throw CLIError("missing \(name) for \(self)") }
            return Self.percentEncoded(value)
        }.joined(separator: "/")
    }

    /// Everything but RFC 3986 unreserved characters percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

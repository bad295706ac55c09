/// `format`: only `email` and `uri` are asserted; any other format is refused when compiling.
struct FormatCheck: KeywordCheck {
    static let formats = ["email", "uri"]

    let format: String
    let pointer: String

    init(_ site: KeywordSite) throws(JSONSchemaError) {
        format = try site.string()
        pointer = site.pointer
        guard Self.formats.contains(format) else {
            throw JSONSchemaError(
                .unsupportedFormat,
                "Schema refused at \(site.pointer): the format \(JSONValue.string(format).jsonText) is not supported; use \"email\" or \"uri\", or a \"pattern\".",
                pointer: site.pointer, keyword: site.keyword)
        }
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext) {
        guard case .string(let s) = instance else { return }
        switch format {
        case "email":
            if !EmailFormat.isValid(s) { context.fail("format", at: pointer, "must be an email address (containing \"@\")") }
        default:
            if !URIFormat.isValid(s) {
                context.fail("format", at: pointer, "must be an absolute URI (RFC 3986), such as https://example.com/path")
            }
        }
    }
}

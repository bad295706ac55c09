import Foundation

/// `pattern`: the string must contain a match of the regular expression (an unanchored search).
struct PatternCheck: KeywordCheck {
    let source: String
    let regex: NSRegularExpression
    let pointer: String

    init(_ site: KeywordSite) throws(JSONSchemaError) {
        source = try site.string()
        pointer = site.pointer
        let translated: String
        do {
            translated = try ECMAPattern.translate(source)
        } catch {
            throw JSONSchemaError(
                .unsupportedPattern,
                "Schema refused at \(site.pointer): the pattern is not supported at character \(error.offset + 1): \(error.problem).",
                pointer: site.pointer, keyword: site.keyword)
        }
        do {
            regex = try NSRegularExpression(pattern: translated)
        } catch {
            throw JSONSchemaError(
                .unsupportedPattern, "Schema refused at \(site.pointer): the pattern could not be compiled.",
                pointer: site.pointer, keyword: site.keyword, cause: error)
        }
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext) {
        guard case .string(let s) = instance else { return }
        let range = NSRange(location: 0, length: s.utf16.count)
        if regex.firstMatch(in: s, options: [], range: range) == nil {
            context.fail("pattern", at: pointer, "must match the pattern \(JSONValue.string(source).jsonText)")
        }
    }
}

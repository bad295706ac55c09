/// Keywords that describe a schema without constraining instances: checked for shape, then ignored.
enum Annotations {
    static let keywords = ["$schema", "$id", "$comment", "title", "description", "default", "examples"]

    /// The dialect URI accepted in `$schema` (with or without an empty fragment).
    static let draft202012 = "https://json-schema.org/draft/2020-12/schema"

    static func check(_ site: KeywordSite) throws(JSONSchemaError) {
        switch site.keyword {
        case "$schema":
            let uri = try site.string()
            guard uri == draft202012 || uri == draft202012 + "#" else {
                throw JSONSchemaError(
                    .invalidKeywordValue,
                    "Schema refused at \(site.pointer): only JSON Schema draft 2020-12 is supported; set \"$schema\" to \"\(draft202012)\" or remove it.",
                    pointer: site.pointer, keyword: site.keyword)
            }
        case "$id":
            let id = try site.string()
            if let hash = id.firstIndex(of: "#"), id.index(after: hash) != id.endIndex {
                throw site.invalid("a URI without a fragment")
            }
        case "$comment", "title", "description":
            _ = try site.string()
        case "examples":
            guard case .array = site.value else { throw site.invalid("an array") }
        default:  // default: any value
            break
        }
    }
}

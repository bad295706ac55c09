/// `minLength`/`maxLength` (Unicode code points), `minItems`/`maxItems`, `minProperties`/`maxProperties`.
struct SizeCheck: KeywordCheck {
    static let keywords = ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"]

    let keyword: String
    let bound: Int
    let pointer: String

    init(_ site: KeywordSite) throws(JSONSchemaError) {
        keyword = site.keyword
        bound = try site.nonNegativeInteger()
        pointer = site.pointer
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext) {
        let size: Int
        let unit: String
        switch (keyword, instance) {
        case ("minLength", .string(let s)), ("maxLength", .string(let s)):
            size = s.unicodeScalars.count
            unit = bound == 1 ? "character" : "characters"
        case ("minItems", .array(let a)), ("maxItems", .array(let a)):
            size = a.count
            unit = bound == 1 ? "item" : "items"
        case ("minProperties", .object(let o)), ("maxProperties", .object(let o)):
            size = o.count
            unit = bound == 1 ? "property" : "properties"
        default:
            return
        }
        if keyword.hasPrefix("min"), size < bound {
            context.fail(keyword, at: pointer, "must have at least \(bound) \(unit)")
        } else if keyword.hasPrefix("max"), size > bound {
            context.fail(keyword, at: pointer, "must have at most \(bound) \(unit)")
        }
    }
}

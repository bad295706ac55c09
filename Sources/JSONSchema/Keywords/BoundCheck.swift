/// `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`: bounds on numbers, compared exactly.
struct BoundCheck: KeywordCheck {
    static let keywords = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]

    let keyword: String
    let limit: JSONNumber
    let limitText: String
    let pointer: String

    init(_ site: KeywordSite) throws(JSONSchemaError) {
        guard let limit = site.value.number, limit.isFinite else { throw site.invalid("a number") }
        keyword = site.keyword
        self.limit = limit
        limitText = site.value.jsonText
        pointer = site.pointer
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext) {
        guard let number = instance.number else { return }
        let order = number.compare(limit)
        let (ok, expectation): (Bool, String) =
            switch keyword {
            case "minimum": (order != .less, "at least")
            case "maximum": (order != .greater, "at most")
            case "exclusiveMinimum": (order == .greater, "greater than")
            default: (order == .less, "less than")
            }
        if !ok { context.fail(keyword, at: pointer, "must be \(expectation) \(limitText)") }
    }
}

/// State threaded through one validation: where in the instance we are and what failed so far.
struct ValidationContext {
    /// Stop at the first violation (for `isValid`).
    let stopAtFirst: Bool
    private(set) var instancePath: [String] = []
    private(set) var violations: [JSONSchemaViolation] = []

    init(stopAtFirst: Bool) { self.stopAtFirst = stopAtFirst }

    /// True once validation can end early.
    var isDone: Bool { stopAtFirst && !violations.isEmpty }

    /// Records a violation at the current instance location.
    mutating func fail(_ keyword: String, at schemaPointer: String, _ message: String) {
        violations.append(
            JSONSchemaViolation(
                instancePointer: JSONPointer.string(instancePath), keyword: keyword,
                schemaPointer: schemaPointer, message: message))
    }

    /// Runs `body` with the instance location moved into a member or item.
    mutating func descend(_ token: String, _ body: (inout ValidationContext) -> Void) {
        instancePath.append(token)
        body(&self)
        instancePath.removeLast()
    }
}

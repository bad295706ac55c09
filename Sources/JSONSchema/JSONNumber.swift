/// A JSON number, compared exactly whether it is stored as an integer or a double.
enum JSONNumber: Sendable {
    case integer(Int64)
    case double(Double)

    enum Order { case less, equal, greater }

    /// True if the number has no fractional part (JSON Schema's `integer`).
    var isIntegral: Bool {
        switch self {
        case .integer: true
        case .double(let d): d.isFinite && d.rounded(.towardZero) == d
        }
    }

    /// The mathematical order of two numbers, exact even past 2^53 (like Python's int/float comparison).
    func compare(_ other: JSONNumber) -> Order {
        switch (self, other) {
        case (.integer(let a), .integer(let b)): return a < b ? .less : (a == b ? .equal : .greater)
        case (.double(let a), .double(let b)): return a < b ? .less : (a == b ? .equal : .greater)
        case (.integer(let a), .double(let b)): return Self.compare(a, b)
        case (.double(let a), .integer(let b)):
            switch Self.compare(b, a) {
            case .less: return .greater
            case .equal: return .equal
            case .greater: return .less
            }
        }
    }

    /// False only for infinities and NaN, which JSON text cannot express.
    var isFinite: Bool {
        if case .double(let d) = self { return d.isFinite }
        return true
    }

    /// Compares an integer with a double without rounding the integer.
    private static func compare(_ i: Int64, _ d: Double) -> Order {
        if d >= 9_223_372_036_854_775_808.0 { return .less }  // 2^63 and above, or +inf
        if d < -9_223_372_036_854_775_808.0 { return .greater }  // below -2^63, or -inf
        if d.isNaN { return .less }  // never produced by the parser; any stable answer will do
        let whole = d.rounded(.towardZero)
        let truncated = Int64(whole)
        if i != truncated { return i < truncated ? .less : .greater }
        if d > whole { return .less }
        if d < whole { return .greater }
        return .equal
    }

    /// Hashes so that numbers that compare equal hash equally (`1` and `1.0`).
    func hash(into hasher: inout Hasher) {
        switch self {
        case .integer(let i): hasher.combine(i)
        case .double(let d):
            if isIntegral, d >= -9_223_372_036_854_775_808.0, d < 9_223_372_036_854_775_808.0 {
                hasher.combine(Int64(d))
            } else {
                hasher.combine(d)
            }
        }
    }
}

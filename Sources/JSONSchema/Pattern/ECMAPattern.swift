/// Checks a `pattern` against a subset of ECMA-262 (`u`-flag) regular expressions and rewrites it
/// for ICU (`NSRegularExpression`), so every accepted pattern means the same in both engines.
///
/// The subset: literals; `.`; `^` and `$` (whole-input anchors); `\d \D \w \W \s \S \b \B` with
/// their ECMA-262 (ASCII) meanings; escapes `\t \n \r \f \v \xHH \uHHHH` and escaped syntax
/// characters; classes `[...]` / `[^...]` with ranges; groups `(...)`, `(?:...)`; lookaheads
/// `(?=...)`, `(?!...)`; alternation; quantifiers `* + ? {n} {n,} {n,m}` (counts up to 1000),
/// each optionally lazy. Refused: backreferences, lookbehind, named groups, inline flags,
/// `\p{...}`, possessive quantifiers, lone `{ } ]`, a quantifier on a group that can match the
/// empty string (engines disagree there), and anything else outside the list.
/// Matching works on Unicode code points.
enum ECMAPattern {
    struct Failure: Error {
        /// Offset in code points of the problem within the pattern.
        let offset: Int
        let problem: String
    }

    static let maximumRepeat = 1000

    static func translate(_ pattern: String) throws(Failure) -> String {
        var parser = Parser(Array(pattern.unicodeScalars))
        let (out, _) = try parser.disjunction()
        if parser.index < parser.scalars.count {
            throw Failure(offset: parser.index, problem: "unbalanced ')'")
        }
        return out
    }

    // ECMA-262 character classes, written for ICU.
    static let digits = "[0-9]"
    static let word = "[A-Za-z0-9_]"
    static let space = "[\\x{9}-\\x{D}\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}]"
    static let lineTerminators = "\\x{A}\\x{D}\\x{2028}\\x{2029}"

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        func fail(_ problem: String, at offset: Int? = nil) -> Failure {
            Failure(offset: offset ?? index, problem: problem)
        }

        /// Alternatives separated by `|`, and whether the whole can match the empty string.
        mutating func disjunction() throws(Failure) -> (String, Bool) {
            var (out, nullable) = try alternative()
            while current == "|" {
                index += 1
                let (next, nextNullable) = try alternative()
                out += "|" + next
                nullable = nullable || nextNullable
            }
            return (out, nullable)
        }

        /// A sequence of terms, and whether it can match the empty string.
        mutating func alternative() throws(Failure) -> (String, Bool) {
            var out = ""
            var nullable = true
            while let c = current, c != "|", c != ")" {
                let start = index
                let term = try term()
                if let (quantifier, minimum) = try quantifier() {
                    guard term.quantifiable else { throw fail("nothing to repeat before a quantifier", at: start) }
                    // Engines disagree on loops whose body matches nothing (ICU even has bugs there): refuse them.
                    guard !term.nullable else {
                        throw fail("a quantifier cannot repeat a group that can match the empty string", at: start)
                    }
                    out += "(?:" + term.pattern + ")" + quantifier
                    nullable = nullable && minimum == 0
                } else {
                    out += term.pattern
                    nullable = nullable && term.nullable
                }
            }
            return (out, nullable)
        }

        struct Term {
            let pattern: String
            /// False for assertions, which cannot be repeated.
            let quantifiable: Bool
            /// True if it can match the empty string.
            let nullable: Bool
        }

        /// One assertion or atom.
        mutating func term() throws(Failure) -> Term {
            let c = current!
            index += 1
            switch c {
            case "^": return Term(pattern: "^", quantifiable: false, nullable: true)
            case "$": return Term(pattern: "\\z", quantifiable: false, nullable: true)
            case ".": return Term(pattern: "[^" + ECMAPattern.lineTerminators + "]", quantifiable: true, nullable: false)
            case "(": return try group()
            case "[": return Term(pattern: try characterClass(), quantifiable: true, nullable: false)
            case "\\": return try escape()
            case "*", "+", "?": throw fail("nothing to repeat before a quantifier", at: index - 1)
            case "{": throw fail("a lone '{' must be escaped as \\{", at: index - 1)
            case "}", "]": throw fail("a lone '\(c)' must be escaped as \\\(c)", at: index - 1)
            default: return Term(pattern: ECMAPattern.literal(c), quantifiable: true, nullable: false)
            }
        }

        mutating func group() throws(Failure) -> Term {
            let start = index - 1
            var open = "(?:"
            var quantifiable = true
            if current == "?" {
                index += 1
                switch current {
                case ":": open = "(?:"
                case "=": open = "(?="; quantifiable = false
                case "!": open = "(?!"; quantifiable = false
                case "<": throw fail("lookbehind and named groups are not supported", at: start)
                default: throw fail("this kind of group '(?' is not supported", at: start)
                }
                index += 1
            }
            let (inner, nullable) = try disjunction()
            guard current == ")" else { throw fail("missing ')'", at: start) }
            index += 1
            return Term(pattern: open + inner + ")", quantifiable: quantifiable, nullable: nullable || !quantifiable)
        }

        mutating func escape() throws(Failure) -> Term {
            let start = index - 1
            guard let c = current else { throw fail("the pattern ends with a lone '\\'", at: start) }
            switch c {
            case "b":
                index += 1
                let w = ECMAPattern.word
                return Term(pattern: "(?:(?<=\(w))(?!\(w))|(?<!\(w))(?=\(w)))", quantifiable: false, nullable: true)
            case "B":
                index += 1
                let w = ECMAPattern.word
                return Term(pattern: "(?:(?<=\(w))(?=\(w))|(?<!\(w))(?!\(w)))", quantifiable: false, nullable: true)
            default:
                switch try classEscape() {
                case .scalar(let s): return Term(pattern: ECMAPattern.literal(s), quantifiable: true, nullable: false)
                case .set(let set): return Term(pattern: set, quantifiable: true, nullable: false)
                }
            }
        }

        enum ClassAtom {
            case scalar(Unicode.Scalar)
            /// A whole set such as `[0-9]` (from `\d`); cannot end a range.
            case set(String)
        }

        /// The escape after a `\` (already consumed), as used both in and out of classes (not `\b`).
        mutating func classEscape() throws(Failure) -> ClassAtom {
            let start = index - 1
            guard let c = current else { throw fail("the pattern ends with a lone '\\'", at: start) }
            index += 1
            switch c {
            case "d": return .set(ECMAPattern.digits)
            case "D": return .set("[^0-9]")
            case "w": return .set(ECMAPattern.word)
            case "W": return .set("[^A-Za-z0-9_]")
            case "s": return .set(ECMAPattern.space)
            case "S": return .set("[^" + ECMAPattern.space.dropFirst())
            case "t": return .scalar("\t")
            case "n": return .scalar("\n")
            case "r": return .scalar("\r")
            case "f": return .scalar("\u{0C}")
            case "v": return .scalar("\u{0B}")
            case "x": return .scalar(try hex(2, start: start))
            case "u":
                let s = try hex(4, start: start)
                return .scalar(s)
            default:
                if "^$\\.*+?()[]{}|/-".unicodeScalars.contains(c) { return .scalar(c) }
                if ("1"..."9").contains(c) { throw fail("backreferences are not supported", at: start) }
                throw fail("the escape '\\\(c)' is not supported", at: start)
            }
        }

        mutating func hex(_ count: Int, start: Int) throws(Failure) -> Unicode.Scalar {
            var value: UInt32 = 0
            for _ in 0..<count {
                guard let c = current, let digit = hexDigit(c) else {
                    throw fail("'\\x' needs 2 and '\\u' needs 4 hexadecimal digits", at: start)
                }
                value = value << 4 | digit
                index += 1
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw fail("'\\u' escapes of surrogates are not supported", at: start)
            }
            return scalar
        }

        func hexDigit(_ c: Unicode.Scalar) -> UInt32? {
            switch c {
            case "0"..."9": c.value - 48
            case "a"..."f": c.value - 87
            case "A"..."F": c.value - 55
            default: nil
            }
        }

        mutating func characterClass() throws(Failure) -> String {
            let start = index - 1
            var out = "["
            if current == "^" {
                index += 1
                out += "^"
            }
            let firstItem = index
            var items = 0
            while true {
                guard let c = current else { throw fail("missing ']'", at: start) }
                if c == "]" {
                    index += 1
                    break
                }
                let itemStart = index
                let low = try classAtom()
                items += 1
                // A '-' between two atoms makes a range; elsewhere only first or last in the class.
                if current == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
                    index += 1
                    let high = try classAtom()
                    guard case .scalar(let lo) = low, case .scalar(let hi) = high else {
                        throw fail("a range cannot start or end with a class like \\d", at: itemStart)
                    }
                    guard lo.value <= hi.value else { throw fail("a range is out of order", at: itemStart) }
                    out += ECMAPattern.literal(lo) + "-" + ECMAPattern.literal(hi)
                    if current == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
                        throw fail("a '-' after a range must be escaped as \\-", at: index)
                    }
                } else {
                    switch low {
                    case .scalar(let s):
                        if s == "-", scalars[itemStart] == "-", itemStart != firstItem, current != "]" {
                            throw fail("a '-' inside a class must be escaped as \\- unless first or last", at: itemStart)
                        }
                        out += ECMAPattern.literal(s)
                    case .set(let set): out += set
                    }
                }
            }
            guard items > 0 else { throw fail("empty classes '[]' and '[^]' are not supported", at: start) }
            return out + "]"
        }

        mutating func classAtom() throws(Failure) -> ClassAtom {
            let c = current!
            index += 1
            switch c {
            case "\\":
                if current == "b" { throw fail("'\\b' inside a class is not supported", at: index - 1) }
                return try classEscape()
            case "[": throw fail("a '[' inside a class must be escaped as \\[", at: index - 1)
            default: return .scalar(c)
            }
        }

        /// A quantifier in ICU syntax and its minimum count, if one follows.
        mutating func quantifier() throws(Failure) -> (String, Int)? {
            let start = index
            var out: String
            var minimum = 0
            switch current {
            case "*": out = "*"; index += 1
            case "+": out = "+"; index += 1; minimum = 1
            case "?": out = "?"; index += 1
            case "{":
                index += 1
                let low = try count(start: start)
                var high: Int? = low
                if current == "," {
                    index += 1
                    high = current == "}" ? nil : try count(start: start)
                }
                guard current == "}" else { throw fail("a '{' must start a quantifier {n}, {n,} or {n,m}; escape it as \\{", at: start) }
                index += 1
                if let high, high < low { throw fail("a quantifier's counts are out of order", at: start) }
                out = "{\(low)," + (high.map(String.init) ?? "") + "}"
                minimum = low
            default:
                return nil
            }
            if current == "?" {
                out += "?"
                index += 1
            }
            if let c = current, "*+?{".unicodeScalars.contains(c) {
                throw fail("a quantifier cannot follow another (possessive quantifiers are not supported)", at: index)
            }
            return (out, minimum)
        }

        mutating func count(start: Int) throws(Failure) -> Int {
            var value = 0
            var digits = 0
            while let c = current, ("0"..."9").contains(c) {
                value = value * 10 + Int(c.value - 48)
                digits += 1
                index += 1
                if value > ECMAPattern.maximumRepeat {
                    throw fail("repetition counts above \(ECMAPattern.maximumRepeat) are not supported", at: start)
                }
            }
            guard digits > 0 else { throw fail("a '{' must start a quantifier {n}, {n,} or {n,m}; escape it as \\{", at: start) }
            return value
        }
    }

    /// One code point as an ICU literal that no ICU syntax can reinterpret.
    static func literal(_ scalar: Unicode.Scalar) -> String {
        "\\x{" + String(scalar.value, radix: 16) + "}"
    }
}

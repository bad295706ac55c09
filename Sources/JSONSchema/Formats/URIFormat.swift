import Foundation

/// `format: uri`: an absolute URI by the grammar of RFC 3986 (`scheme ":" hier-part ["?" query] ["#" fragment]`).
///
/// ASCII only (an IRI with raw non-ASCII characters is refused), percent signs must start `%HH`,
/// and a bracketed host must be an IPv6 address or an `IPvFuture` literal.
enum URIFormat {
    static func isValid(_ string: String) -> Bool {
        var rest = Substring(string)
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        guard let colon = rest.firstIndex(of: ":") else { return false }
        let scheme = rest[..<colon]
        guard let first = scheme.unicodeScalars.first, isAlpha(first),
            scheme.unicodeScalars.allSatisfy({ isAlpha($0) || isDigit($0) || "+-.".unicodeScalars.contains($0) })
        else { return false }
        rest = rest[rest.index(after: colon)...]

        if let hash = rest.firstIndex(of: "#") {
            guard isValid(rest[rest.index(after: hash)...], extra: "/?") else { return false }
            rest = rest[..<hash]
        }
        if let question = rest.firstIndex(of: "?") {
            guard isValid(rest[rest.index(after: question)...], extra: "/?") else { return false }
            rest = rest[..<question]
        }
        if rest.hasPrefix("//") {
            let afterSlashes = rest.dropFirst(2)
            let end = afterSlashes.firstIndex(of: "/") ?? afterSlashes.endIndex
            guard isValidAuthority(afterSlashes[..<end]) else { return false }
            rest = afterSlashes[end...]
        }
        return isValid(rest, extra: "/")  // path-abempty, path-absolute, path-rootless or path-empty
    }

    /// authority = [ userinfo "@" ] host [ ":" port ]
    private static func isValidAuthority(_ authority: Substring) -> Bool {
        var hostPort = authority
        if let at = authority.firstIndex(of: "@") {
            guard isValid(authority[..<at], extra: ":", pchar: false) else { return false }
            hostPort = authority[authority.index(after: at)...]
        }
        var host = hostPort
        var port = Substring("")
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { return false }
            host = hostPort[...close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return false }
                port = after.dropFirst()
            }
            let literal = host.dropFirst().dropLast()
            guard isIPv6(literal) || isIPvFuture(literal) else { return false }
        } else {
            if let colon = hostPort.lastIndex(of: ":") {
                host = hostPort[..<colon]
                port = hostPort[hostPort.index(after: colon)...]
            }
            guard isValid(host, extra: "", pchar: false) else { return false }  // reg-name (covers IPv4address)
        }
        return port.unicodeScalars.allSatisfy(isDigit)
    }

    /// True if every character is unreserved, a sub-delim, `%HH`, one of `extra`, and (for `pchar`) `:` or `@`.
    private static func isValid(_ text: Substring, extra: String, pchar: Bool = true) -> Bool {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let c = scalars[index]
            if c == "%" {
                guard index + 2 < scalars.count, isHex(scalars[index + 1]), isHex(scalars[index + 2]) else { return false }
                index += 3
                continue
            }
            let allowed =
                isAlpha(c) || isDigit(c) || "-._~".unicodeScalars.contains(c) || "!$&'()*+,;=".unicodeScalars.contains(c)
                || extra.unicodeScalars.contains(c) || (pchar && (c == ":" || c == "@"))
            guard allowed else { return false }
            index += 1
        }
        return true
    }

    /// IPv6address of RFC 3986: eight 16-bit groups, `::` once for a run of zeros, an IPv4 tail allowed.
    private static func isIPv6(_ text: Substring) -> Bool {
        var text = String(text)
        var groupsNeeded = 8
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard isIPv4(text[text.index(after: lastColon)...]) else { return false }
            text = String(text[...lastColon]) + "0"  // stands for the two groups the IPv4 tail fills
            groupsNeeded = 7
        }
        let halves = text.components(separatedBy: "::")
        func groups(_ part: String) -> [Substring]? {
            if part.isEmpty { return [] }
            let groups = part.split(separator: ":", omittingEmptySubsequences: false)
            return groups.allSatisfy({ (1...4).contains($0.count) && $0.unicodeScalars.allSatisfy(isHex) }) ? groups : nil
        }
        switch halves.count {
        case 1:
            guard let all = groups(halves[0]) else { return false }
            return all.count == groupsNeeded
        case 2:
            guard let head = groups(halves[0]), let tail = groups(halves[1]) else { return false }
            return head.count + tail.count < groupsNeeded
        default:
            return false
        }
    }

    private static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                guard (1...3).contains(part.count), part.unicodeScalars.allSatisfy(isDigit), let value = Int(part) else {
                    return false
                }
                return value <= 255 && (part.count == 1 || part.first != "0")
            }
    }

    /// IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
    private static func isIPvFuture(_ text: Substring) -> Bool {
        guard text.first == "v" || text.first == "V", let dot = text.firstIndex(of: ".") else { return false }
        let version = text[text.index(after: text.startIndex)..<dot]
        let rest = text[text.index(after: dot)...]
        return !version.isEmpty && version.unicodeScalars.allSatisfy(isHex) && !rest.isEmpty
            && !rest.contains("%") && isValid(rest, extra: ":", pchar: false)
    }

    private static func isAlpha(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
    private static func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }
    private static func isHex(_ c: Unicode.Scalar) -> Bool { isDigit(c) || ("a"..."f").contains(c) || ("A"..."F").contains(c) }
}

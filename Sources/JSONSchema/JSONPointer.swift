/// Builds JSON pointers (RFC 6901) from path tokens.
enum JSONPointer {
    /// The pointer for `tokens`: `""` for the root, `/a/0/b~1c` otherwise.
    static func string(_ tokens: [String]) -> String {
        tokens.map { "/" + escape($0) }.joined()
    }

    /// One token with `~` and `/` escaped as `~0` and `~1`.
    static func escape(_ token: String) -> String {
        var out = ""
        for scalar in token.unicodeScalars {
            switch scalar {
            case "~": out += "~0"
            case "/": out += "~1"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// How a pointer reads in a message: `the root` or `/a/b`.
    static func display(_ pointer: String) -> String {
        pointer.isEmpty ? "the root" : pointer
    }
}

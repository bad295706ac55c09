/// Where the droplet's DTMA writes what it does. ToolboxAgent does not depend on swift-log: `agentbox dtma` hands in
/// a sink that forwards to its `Logger(label: "agentbox.dtma")`. Nothing logged here holds a token, a ticket or a credential.
public struct DTMALog: Sendable {
    public enum Level: Sendable {
        case debug, info, notice, warning, error
    }

    let sink: @Sendable (Level, String) -> Void

    public init(_ sink: @escaping @Sendable (Level, String) -> Void) {
        self.sink = sink
    }

    /// A log that drops everything (tests).
    public static let silent = DTMALog { _, _ in }

    func debug(_ message: String) { sink(.debug, message) }
    func info(_ message: String) { sink(.info, message) }
    func notice(_ message: String) { sink(.notice, message) }
    func warning(_ message: String) { sink(.warning, message) }
    func error(_ message: String) { sink(.error, message) }

    /// A token's first characters, the most of one any log may show.
    static func prefix(_ token: String) -> String { String(token.prefix(12)) + "..." }
}

import Foundation
import Logging
import Synchronization

/// How log lines look on standard error: `--log-format` / `AGENTBOX_LOG_FORMAT`.
enum LogFormat: String, CaseIterable, Sendable {
    /// swift-log's human-readable lines (`2025-01-31T12:00:00+0000 info agentbox: key=value [module] message`).
    case text
    /// One JSON object per line: `time`, `level`, `label`, `message`, `metadata`.
    case json

    /// The handler factory for `LoggingSystem.bootstrap`.
    func handler(level: Logger.Level) -> @Sendable (String) -> any LogHandler {
        switch self {
        case .text:
            return { label in TextLogHandler(label: label, level: level) }
        case .json:
            return { label in JSONLogHandler(label: label, level: level) }
        }
    }
}

/// Metadata as both handlers print it: the handler's, the provider's and the line's own, merged in that order,
/// with Hummingbird's request id (`hb.request.id`) named `request_id`, as in the API's error bodies.
enum LogMetadata {
    static let hummingbirdRequestID = "hb.request.id"
    static let requestID = "request_id"

    static func merged(
        _ base: Logger.Metadata, provider: Logger.MetadataProvider?, event: Logger.Metadata?, error: (any Error)?
    ) -> Logger.Metadata {
        var metadata = base
        if let provided = provider?.get() { metadata.merge(provided) { $1 } }
        if let event { metadata.merge(event) { $1 } }
        if let error { metadata["error"] = "\(String(reflecting: error))" }
        if let id = metadata.removeValue(forKey: hummingbirdRequestID) { metadata[requestID] = id }
        return metadata
    }
}

/// Writes one JSON object per line to standard error: `{"time", "level", "label", "message", "metadata"}`.
///
/// Lines are written whole (one `write` under a lock), so concurrent requests never interleave within a line.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let metadata = LogMetadata.merged(metadata, provider: metadataProvider, event: event.metadata, error: event.error)
        StandardError.shared.write(Self.line(time: Date(), level: event.level, label: label, message: event.message.description, metadata: metadata))
    }

    /// The JSON text of one line, ending in a newline.
    static func line(time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var out = "{\"time\":"
        LogJSON.append(string: time.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)), to: &out)
        out += ",\"level\":"
        LogJSON.append(string: level.rawValue, to: &out)
        out += ",\"label\":"
        LogJSON.append(string: label, to: &out)
        out += ",\"message\":"
        LogJSON.append(string: message, to: &out)
        out += ",\"metadata\":"
        LogJSON.append(metadata: metadata, to: &out)
        out += "}\n"
        return out
    }
}

/// swift-log's `StreamLogHandler` on standard error, with the request id named `request_id`.
struct TextLogHandler: LogHandler {
    private var stream: StreamLogHandler
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        stream = StreamLogHandler.standardError(label: label, metadataProvider: nil)
        stream.logLevel = level
        self.metadataProvider = metadataProvider
    }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.metadata = LogMetadata.merged(metadata, provider: metadataProvider, event: event.metadata, error: nil)
        stream.log(event: event)
    }
}

/// Standard error, written a whole line at a time.
final class StandardError: Sendable {
    static let shared = StandardError()
    private let lock = Mutex(())

    func write(_ text: String) {
        lock.withLock { _ in
            try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
        }
    }
}

/// The little JSON writing the log lines need: strings with every control character escaped, and metadata values.
enum LogJSON {
    static func append(string: String, to out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x2028...0x2029).contains(scalar.value):
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    static func append(metadata: Logger.Metadata, to out: inout String) {
        out += "{"
        for (index, key) in metadata.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            append(string: key, to: &out)
            out += ":"
            append(value: metadata[key]!, to: &out)
        }
        out += "}"
    }

    static func append(value: Logger.Metadata.Value, to out: inout String) {
        switch value {
        case .string(let text): append(string: text, to: &out)
        case .stringConvertible(let value): append(string: value.description, to: &out)
        case .dictionary(let metadata): append(metadata: metadata, to: &out)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                append(value: value, to: &out)
            }
            out += "]"
        }
    }
}

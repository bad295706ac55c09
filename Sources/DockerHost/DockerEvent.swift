import Foundation

/// One event of the engine's stream (`GET /events`), such as a container's `start` or `die`.
public struct DockerEvent: Sendable, Equatable {
    /// `container`, `image`, `network`, ...; `events(labels:)` delivers only `container`.
    public let type: String
    /// What happened: `create`, `start`, `die`, `kill`, `stop`, `restart`, `oom`, `destroy`,
    /// `health_status: healthy`, ...
    public let action: String
    /// The container's (or other object's) id.
    public let id: String
    /// Docker's attributes: the container's labels, plus `name`, `image` and, for some actions,
    /// `exitCode` or `signal`.
    public let attributes: [String: String]
    /// When it happened.
    public let time: Date

    public init(type: String, action: String, id: String, attributes: [String: String], time: Date) {
        self.type = type
        self.action = action
        self.id = id
        self.attributes = attributes
        self.time = time
    }

    /// The container's labels: the attributes without the ones Docker adds.
    public var labels: [String: String] { attributes.filter { !Self.dockerAttributes.contains($0.key) } }
    /// The container's name.
    public var name: String? { attributes["name"] }
    /// The exit status, for `die`.
    public var exitCode: Int? { attributes["exitCode"].flatMap { Int($0) } }

    private static let dockerAttributes: Set<String> = ["name", "image", "exitCode", "signal", "execID", "execDuration"]
}

/// An event as Docker writes it.
struct EventJSON: Decodable {
    struct Subject: Decodable {
        let id: String?
        let attributes: [String: String]?
        enum CodingKeys: String, CodingKey { case id = "ID", attributes = "Attributes" }
    }
    let type: String?
    let action: String?
    let subject: Subject?
    let time: Int64?
    let timeNano: Int64?

    enum CodingKeys: String, CodingKey {
        case type = "Type", action = "Action", subject = "Actor", time, timeNano
    }

    var event: DockerEvent {
        let seconds = timeNano.map { Double($0) / 1e9 } ?? Double(time ?? 0)
        return DockerEvent(
            type: type ?? "", action: action ?? "", id: subject?.id ?? "", attributes: subject?.attributes ?? [:],
            time: Date(timeIntervalSince1970: seconds))
    }
}

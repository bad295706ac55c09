/// One container of `listContainers` (`GET /containers/json`).
public struct ContainerSummary: Sendable, Equatable, Decodable {
    public let id: String
    /// Its names, without Docker's leading `/`.
    public let names: [String]
    /// The image reference it was created from.
    public let image: String
    public let imageID: String
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    public let state: String
    /// Docker's words for it, e.g. `Up 3 minutes`, `Exited (1) 2 seconds ago`.
    public let status: String
    public let labels: [String: String]
    /// When it was created, in seconds since 1970.
    public let created: Int64

    /// Its first name.
    public var name: String { names.first ?? "" }

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", imageID = "ImageID", state = "State", status = "Status", labels = "Labels"
        case created = "Created"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        names = (try container.decodeIfPresent([String].self, forKey: .names) ?? []).map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
        image = try container.decodeIfPresent(String.self, forKey: .image) ?? ""
        imageID = try container.decodeIfPresent(String.self, forKey: .imageID) ?? ""
        state = try container.decodeIfPresent(String.self, forKey: .state) ?? ""
        status = try container.decodeIfPresent(String.self, forKey: .status) ?? ""
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        created = try container.decodeIfPresent(Int64.self, forKey: .created) ?? 0
    }
}

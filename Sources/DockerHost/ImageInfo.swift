/// What `inspectImage` tells of a local image.
public struct ImageInfo: Sendable, Decodable, Equatable {
    /// The image id, `sha256:...`.
    public let id: String
    /// The names it is tagged with locally, e.g. `127.0.0.1:5000/agentbox-test/echo:1`.
    public let repoTags: [String]
    /// The registry digests it was pulled or pushed by, e.g. `127.0.0.1:5000/agentbox-test/echo@sha256:...`.
    public let repoDigests: [String]
    /// When it was built (RFC 3339).
    public let created: String?
    /// Its size in bytes.
    public let size: Int64?
    /// The image's labels.
    public let labels: [String: String]

    enum CodingKeys: String, CodingKey {
        case id = "Id", repoTags = "RepoTags", repoDigests = "RepoDigests", created = "Created", size = "Size", config = "Config"
    }

    enum ConfigKeys: String, CodingKey {
        case labels = "Labels"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        repoTags = try container.decodeIfPresent([String].self, forKey: .repoTags) ?? []
        repoDigests = try container.decodeIfPresent([String].self, forKey: .repoDigests) ?? []
        created = try container.decodeIfPresent(String.self, forKey: .created)
        size = try container.decodeIfPresent(Int64.self, forKey: .size)
        let config = try? container.nestedContainer(keyedBy: ConfigKeys.self, forKey: .config)
        labels = (try? config?.decodeIfPresent([String: String].self, forKey: .labels)) ?? [:]
    }

    /// The digest (`sha256:...`) under which `repository` (e.g. `127.0.0.1:5000/agentbox-test/echo`) knows
    /// this image, if it was pulled from or pushed to it.
    public func digest(in repository: String) -> String? {
        repoDigests.first { $0.hasPrefix(repository + "@") }.map { String($0.dropFirst(repository.count + 1)) }
    }
}

/// The engine's answer to `GET /version`.
public struct DockerVersion: Sendable, Decodable, Equatable {
    /// The engine's release, e.g. `20.10.24+dfsg1`.
    public let version: String
    /// The newest API version the engine speaks, e.g. `1.41`.
    public let apiVersion: String
    /// The oldest API version the engine accepts.
    public let minAPIVersion: String?
    public let os: String
    public let arch: String
    public let kernelVersion: String?

    enum CodingKeys: String, CodingKey {
        case version = "Version"
        case apiVersion = "ApiVersion"
        case minAPIVersion = "MinAPIVersion"
        case os = "Os"
        case arch = "Arch"
        case kernelVersion = "KernelVersion"
    }

    public init(version: String, apiVersion: String, minAPIVersion: String?, os: String, arch: String, kernelVersion: String?) {
        self.version = version
        self.apiVersion = apiVersion
        self.minAPIVersion = minAPIVersion
        self.os = os
        self.arch = arch
        self.kernelVersion = kernelVersion
    }
}

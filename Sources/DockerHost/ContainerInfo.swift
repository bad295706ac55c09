import Foundation

/// What `inspectContainer` tells of one container (`GET /containers/{id}/json`).
public struct ContainerInfo: Sendable, Equatable {
    /// The full container id.
    public let id: String
    /// The name, without Docker's leading `/`.
    public let name: String
    /// The image reference it was created from, as given.
    public let image: String
    /// The id (`sha256:...`) of the image it runs.
    public let imageID: String
    public let state: ContainerState
    public let labels: [String: String]
    /// Its environment (`NAME=value`) as `docker inspect` shows it: the image's and the spec's.
    public let environment: [String]
    /// The host bindings it was created with (kept while it is stopped).
    public let portBindings: [PortBinding]
    /// The bindings in effect while it runs, with the ports the engine chose for `hostPort: 0`.
    public let publishedPorts: [PortBinding]
    /// How often the engine restarted it under its restart policy.
    public let restartCount: Int
    public let hostConfig: HostSettings

    /// The security and resource settings it runs with.
    public struct HostSettings: Sendable, Equatable {
        public let securityOptions: [String]
        public let capabilitiesDropped: [String]
        public let memoryBytes: Int64
        public let nanoCPUs: Int64
        public let readOnlyRootFilesystem: Bool
        /// `no`, `on-failure`, `unless-stopped` or `always`.
        public let restartPolicy: String
        public let maximumRetryCount: Int
    }
}

/// A container's state as the engine reports it.
public struct ContainerState: Sendable, Equatable {
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    public let status: String
    public let running: Bool
    public let restarting: Bool
    public let oomKilled: Bool
    public let exitCode: Int
    /// The engine's reason when the container could not start (empty otherwise).
    public let error: String
    /// When it last started; nil if it never did.
    public let startedAt: Date?
    /// When it last ended; nil if it never did.
    public let finishedAt: Date?
}

/// One published port: `hostIP:hostPort` on the host to `containerPort/protocol` in the container.
public struct PortBinding: Sendable, Equatable, Hashable {
    public let containerPort: Int
    public let `protocol`: String
    public let hostIP: String
    /// 0 when the engine is to choose (in `portBindings`).
    public let hostPort: Int

    public init(containerPort: Int, protocol: String = "tcp", hostIP: String, hostPort: Int) {
        self.containerPort = containerPort
        self.protocol = `protocol`
        self.hostIP = hostIP
        self.hostPort = hostPort
    }
}

// MARK: - Docker's JSON

struct ContainerJSON: Decodable {
    struct StateBody: Decodable {
        let Status: String
        let Running: Bool
        let Restarting: Bool?
        let OOMKilled: Bool?
        let ExitCode: Int?
        let Error: String?
        let StartedAt: String?
        let FinishedAt: String?
    }
    struct ConfigBody: Decodable {
        let Image: String?
        let Labels: [String: String]?
        let Env: [String]?
    }
    struct Binding: Decodable {
        let HostIp: String?
        let HostPort: String?
    }
    struct RestartBody: Decodable {
        let Name: String?
        let MaximumRetryCount: Int?
    }
    struct HostBody: Decodable {
        let PortBindings: [String: [Binding]?]?
        let SecurityOpt: [String]?
        let CapDrop: [String]?
        let Memory: Int64?
        let NanoCpus: Int64?
        let ReadonlyRootfs: Bool?
        let RestartPolicy: RestartBody?
    }
    struct NetworkBody: Decodable {
        let Ports: [String: [Binding]?]?
    }
    let Id: String
    let Name: String
    let Image: String
    let RestartCount: Int?
    let State: StateBody
    let Config: ConfigBody?
    let HostConfig: HostBody?
    let NetworkSettings: NetworkBody?

    var info: ContainerInfo {
        ContainerInfo(
            id: Id,
            name: Name.hasPrefix("/") ? String(Name.dropFirst()) : Name,
            image: Config?.Image ?? "",
            imageID: Image,
            state: ContainerState(
                status: State.Status, running: State.Running, restarting: State.Restarting ?? false, oomKilled: State.OOMKilled ?? false,
                exitCode: State.ExitCode ?? 0, error: State.Error ?? "", startedAt: DockerTime.parse(State.StartedAt),
                finishedAt: DockerTime.parse(State.FinishedAt)),
            labels: Config?.Labels ?? [:],
            environment: Config?.Env ?? [],
            portBindings: Self.bindings(HostConfig?.PortBindings),
            publishedPorts: Self.bindings(NetworkSettings?.Ports),
            restartCount: RestartCount ?? 0,
            hostConfig: ContainerInfo.HostSettings(
                securityOptions: HostConfig?.SecurityOpt ?? [], capabilitiesDropped: HostConfig?.CapDrop ?? [],
                memoryBytes: HostConfig?.Memory ?? 0, nanoCPUs: HostConfig?.NanoCpus ?? 0,
                readOnlyRootFilesystem: HostConfig?.ReadonlyRootfs ?? false,
                restartPolicy: HostConfig?.RestartPolicy?.Name.flatMap { $0.isEmpty ? nil : $0 } ?? "no",
                maximumRetryCount: HostConfig?.RestartPolicy?.MaximumRetryCount ?? 0)
        )
    }

    /// `{"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "12345"}]}` as bindings, sorted.
    static func bindings(_ map: [String: [Binding]?]?) -> [PortBinding] {
        var result: [PortBinding] = []
        for (key, list) in map ?? [:] {
            let parts = key.split(separator: "/")
            guard let port = parts.first.flatMap({ Int($0) }) else { continue }
            let proto = parts.count > 1 ? String(parts[1]) : "tcp"
            for binding in list ?? [] {
                result.append(
                    PortBinding(containerPort: port, protocol: proto, hostIP: binding.HostIp ?? "", hostPort: Int(binding.HostPort ?? "") ?? 0))
            }
        }
        return result.sorted { ($0.containerPort, $0.hostIP, $0.hostPort) < ($1.containerPort, $1.hostIP, $1.hostPort) }
    }
}

/// Docker's times: RFC 3339 with up to nine fractional digits; the zero time means "never".
enum DockerTime {
    static func parse(_ text: String?) -> Date? {
        guard let text, !text.isEmpty, !text.hasPrefix("0001-01-01") else { return nil }
        var whole = text
        var fraction = 0.0
        if let dot = text.firstIndex(of: ".") {
            let digitsEnd = text[dot...].dropFirst().firstIndex { !$0.isNumber } ?? text.endIndex
            fraction = Double("0" + text[dot..<digitsEnd]) ?? 0
            whole = String(text[..<dot] + text[digitsEnd...])
        }
        guard let date = try? Date(whole, strategy: .iso8601) else { return nil }
        return date.addingTimeInterval(fraction)
    }
}

/// What `createContainer` makes: one tool container, published on one host port, locked down.
///
/// The container gets `no-new-privileges`, drops every Linux capability (a tool that serves HTTP on an
/// unprivileged port needs none), and publishes `containerPort/tcp` on `hostIP:hostPort` only.
public struct ContainerSpec: Sendable, Equatable {
    /// What the engine does when the container's process ends.
    public enum RestartPolicy: Sendable, Equatable {
        /// Never restart (agentbox's reconciler decides).
        case no
        /// Restart after a non-zero exit, at most this many times.
        case onFailure(Int)
        /// Restart always, also after the engine restarts, unless stopped by a call.
        case unlessStopped
    }

    /// The container's name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`); unique on the engine.
    public var name: String
    /// The image reference, already pulled.
    public var image: String
    public var labels: [String: String]
    /// The TCP port the tool listens on inside the container.
    public var containerPort: Int
    /// The host address to publish on: `127.0.0.1` (the default) keeps the tool off the network.
    public var hostIP: String
    /// The host port; 0 lets the engine choose one (see `ContainerInfo.publishedPorts`).
    public var hostPort: Int
    /// A memory limit in bytes.
    public var memoryBytes: Int64?
    /// A CPU limit in billionths of a CPU (1_000_000_000 is one CPU).
    public var nanoCPUs: Int64?
    public var restartPolicy: RestartPolicy
    /// Mount the image's file system read-only.
    public var readOnlyRootFilesystem: Bool
    /// Replaces the image's command; nil keeps it.
    public var command: [String]?
    /// Plain settings for the tool. NEVER secrets: anyone who may use the engine reads them with
    /// `docker inspect`. Credentials reach a tool only inside the request that needs them.
    public var environment: [String: String]

    public init(
        name: String, image: String, labels: [String: String] = [:], containerPort: Int, hostIP: String = "127.0.0.1", hostPort: Int,
        memoryBytes: Int64? = nil, nanoCPUs: Int64? = nil, restartPolicy: RestartPolicy = .no, readOnlyRootFilesystem: Bool = false,
        command: [String]? = nil, environment: [String: String] = [:]
    ) {
        self.name = name
        self.image = image
        self.labels = labels
        self.containerPort = containerPort
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.memoryBytes = memoryBytes
        self.nanoCPUs = nanoCPUs
        self.restartPolicy = restartPolicy
        self.readOnlyRootFilesystem = readOnlyRootFilesystem
        self.command = command
        self.environment = environment
    }

    /// The body of `POST /containers/create`.
    var createBody: CreateBody {
        let port = "\(containerPort)/tcp"
        let restart: CreateBody.Restart
        switch restartPolicy {
        case .no: restart = .init(Name: "no", MaximumRetryCount: nil)
        case .onFailure(let maximum): restart = .init(Name: "on-failure", MaximumRetryCount: maximum)
        case .unlessStopped: restart = .init(Name: "unless-stopped", MaximumRetryCount: nil)
        }
        return CreateBody(
            Image: image,
            Labels: labels,
            Env: environment.isEmpty ? nil : environment.map { "\($0.key)=\($0.value)" }.sorted(),
            Cmd: command,
            ExposedPorts: [port: .init()],
            HostConfig: .init(
                PortBindings: [port: [.init(HostIp: hostIP, HostPort: hostPort == 0 ? "" : String(hostPort))]],
                Memory: memoryBytes,
                NanoCpus: nanoCPUs,
                RestartPolicy: restart,
                ReadonlyRootfs: readOnlyRootFilesystem,
                SecurityOpt: ["no-new-privileges"],
                CapDrop: ["ALL"]
            )
        )
    }

    // Docker's own field names.
    struct CreateBody: Encodable {
        struct Empty: Encodable {}
        struct Binding: Encodable {
            let HostIp: String
            let HostPort: String
        }
        struct Restart: Encodable {
            let Name: String
            let MaximumRetryCount: Int?
        }
        struct Host: Encodable {
            let PortBindings: [String: [Binding]]
            let Memory: Int64?
            let NanoCpus: Int64?
            let RestartPolicy: Restart
            let ReadonlyRootfs: Bool
            let SecurityOpt: [String]
            let CapDrop: [String]
        }
        let Image: String
        let Labels: [String: String]
        let Env: [String]?
        let Cmd: [String]?
        let ExposedPorts: [String: Empty]
        let HostConfig: Host
    }
}

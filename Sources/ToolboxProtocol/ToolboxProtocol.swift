import Foundation

// The backend-to-DTMA protocol: what the backend wants a toolbox to run (``DesiredState``) and what the
// toolbox's agent reports back (``Heartbeat``). For local toolboxes the two sides call each other directly;
// for droplets the same values travel as JSON over HTTP, with snake_case keys and ISO-8601 times
// (``ToolboxProtocolCoding``).

/// Everything a toolbox should run, as the backend's database says.
public struct DesiredState: Codable, Sendable, Equatable {
    public var toolboxID: UUID
    public var instances: [DesiredInstance]

    public init(toolboxID: UUID, instances: [DesiredInstance]) {
        self.toolboxID = toolboxID
        self.instances = instances
    }

    enum CodingKeys: String, CodingKey {
        case toolboxID = "toolbox_id"
        case instances
    }
}

/// One tool instance as it should be on its toolbox.
public struct DesiredInstance: Codable, Sendable, Equatable {
    /// What should become of the instance's container.
    public enum Goal: String, Codable, Sendable, CaseIterable {
        /// A container exists and runs.
        case running
        /// A container may exist but does not run.
        case stopped
        /// No container exists.
        case absent
    }

    public var instanceID: UUID
    /// The instance's name on its toolbox (part of the container name).
    public var name: String
    /// The image reference, the catalog's `docker_image_url`.
    public var image: String
    /// The tool version copied from the catalog at deploy time.
    public var version: String
    public var containerPort: Int
    /// The host port leased to the instance; the container is published on 127.0.0.1 at this port.
    public var hostPort: Int
    public var memoryMB: Int?
    /// CPUs, e.g. 0.5.
    public var cpuLimit: Double?
    public var desired: Goal
    /// A running container started before this time is restarted (the user asked for a restart then).
    public var restartRequestedAt: Date?
    /// During an upgrade: the version to return to when `version` does not become healthy.
    public var rollback: Rollback?
    /// The login for the image's registry, when it is private; sent to the engine only as `X-Registry-Auth`.
    public var registryAuth: RegistryLogin?
    /// Whether the tool answers `GET /health` (tool contract v1): it runs only once it does. MCP tools do not.
    public var checksHealth: Bool

    public init(
        instanceID: UUID, name: String, image: String, version: String, containerPort: Int, hostPort: Int,
        memoryMB: Int? = nil, cpuLimit: Double? = nil, desired: Goal, restartRequestedAt: Date? = nil, rollback: Rollback? = nil,
        registryAuth: RegistryLogin? = nil, checksHealth: Bool = true
    ) {
        self.instanceID = instanceID
        self.name = name
        self.image = image
        self.version = version
        self.containerPort = containerPort
        self.hostPort = hostPort
        self.memoryMB = memoryMB
        self.cpuLimit = cpuLimit
        self.desired = desired
        self.restartRequestedAt = restartRequestedAt
        self.rollback = rollback
        self.registryAuth = registryAuth
        self.checksHealth = checksHealth
    }

    enum CodingKeys: String, CodingKey {
        case instanceID = "instance_id"
        case name
        case image
        case version
        case containerPort = "container_port"
        case hostPort = "host_port"
        case memoryMB = "memory_mb"
        case cpuLimit = "cpu_limit"
        case desired
        case restartRequestedAt = "restart_requested_at"
        case rollback
        case registryAuth = "registry_auth"
        case checksHealth = "checks_health"
    }
}

/// The version and image an upgrading instance returns to.
public struct Rollback: Codable, Sendable, Equatable {
    public var version: String
    public var image: String

    public init(version: String, image: String) {
        self.version = version
        self.image = image
    }
}

/// A registry login for one pull. Its description hides the password, so it cannot reach a log by accident.
public struct RegistryLogin: Codable, Sendable, Equatable, CustomStringConvertible {
    public var serverAddress: String
    public var username: String
    public var password: String

    public init(serverAddress: String, username: String, password: String) {
        self.serverAddress = serverAddress
        self.username = username
        self.password = password
    }

    public var description: String { "RegistryLogin(\(username)@\(serverAddress), password hidden)" }

    enum CodingKeys: String, CodingKey {
        case serverAddress = "server_address"
        case username, password
    }
}

/// What a toolbox's agent reports after each pass: itself, its host, and every instance it manages.
public struct Heartbeat: Codable, Sendable, Equatable {
    public var toolboxID: UUID
    public var agentVersion: String
    public var sentAt: Date
    public var health: HostHealth
    public var instances: [InstanceReport]
    /// What the agent wants its toolbox's owner to know, e.g. that an update did not come up healthy and was rolled back.
    public var agentNote: String?

    public init(toolboxID: UUID, agentVersion: String, sentAt: Date, health: HostHealth, instances: [InstanceReport], agentNote: String? = nil) {
        self.toolboxID = toolboxID
        self.agentVersion = agentVersion
        self.sentAt = sentAt
        self.health = health
        self.instances = instances
        self.agentNote = agentNote
    }

    enum CodingKeys: String, CodingKey {
        case toolboxID = "toolbox_id"
        case agentVersion = "agent_version"
        case sentAt = "sent_at"
        case health
        case instances
        case agentNote = "agent_note"
    }
}

/// The host's health; nil where the host could not tell.
public struct HostHealth: Codable, Sendable, Equatable {
    /// The one-minute load average.
    public var load1: Double?
    public var memoryAvailableBytes: Int64?
    /// Free space on the root file system, for unprivileged users.
    public var diskAvailableBytes: Int64?
    public var dockerReachable: Bool

    public init(load1: Double? = nil, memoryAvailableBytes: Int64? = nil, diskAvailableBytes: Int64? = nil, dockerReachable: Bool) {
        self.load1 = load1
        self.memoryAvailableBytes = memoryAvailableBytes
        self.diskAvailableBytes = diskAvailableBytes
        self.dockerReachable = dockerReachable
    }

    enum CodingKeys: String, CodingKey {
        case load1 = "load1"
        case memoryAvailableBytes = "memory_available_bytes"
        case diskAvailableBytes = "disk_available_bytes"
        case dockerReachable = "docker_reachable"
    }
}

/// One instance as its toolbox found it after converging.
public struct InstanceReport: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable, CaseIterable {
        case running
        case stopped
        /// No container exists (any more).
        case absent
        /// The container could not be made to match; see `lastError`.
        case error
        /// Being pulled, created or started.
        case deploying
        /// Crashed after running and waiting out its back-off before the next start; see `lastError`.
        case restarting
    }

    public var instanceID: UUID
    public var containerID: String?
    public var state: State
    public var hostPort: Int?
    public var imageDigest: String?
    /// The version the container runs (its label); differs from the desired one after an upgrade was rolled back.
    public var version: String?
    /// Docker's own message for the last failure, or why an upgrade was rolled back.
    public var lastError: String?
    /// The version the pass was asked to run. A report made before an upgrade was asked names the old one, and tells
    /// nothing about the upgrade; nil from agents older than this field.
    public var desiredVersion: String?

    public init(
        instanceID: UUID, containerID: String? = nil, state: State, hostPort: Int? = nil, imageDigest: String? = nil, version: String? = nil,
        lastError: String? = nil, desiredVersion: String? = nil
    ) {
        self.instanceID = instanceID
        self.containerID = containerID
        self.state = state
        self.hostPort = hostPort
        self.imageDigest = imageDigest
        self.version = version
        self.lastError = lastError
        self.desiredVersion = desiredVersion
    }

    enum CodingKeys: String, CodingKey {
        case instanceID = "instance_id"
        case containerID = "container_id"
        case state
        case hostPort = "host_port"
        case imageDigest = "image_digest"
        case version
        case lastError = "last_error"
        case desiredVersion = "desired_version"
    }
}

/// The JSON coders both sides use on the wire: ISO-8601 times, sorted keys.
public enum ToolboxProtocolCoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

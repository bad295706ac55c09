import DigitalOcean
import Storage
import Vault

/// Every service of the backend role, built once over an opened data directory and shared by the
/// HTTP routes, the CLI's offline commands and the tests, so each rule has one code path.
public struct ControlPlane: Sendable {
    public let backend: Backend
    public let tokens: TokenService
    public let audit: AuditLog
    public let users: UserService
    public let agents: AgentService
    public let catalog: CatalogService
    public let toolboxes: ToolboxService
    public let instances: InstanceService
    public let toolbelts: ToolbeltService
    public let credentials: CredentialService
    /// The backend's side of the backend-to-DTMA protocol: desired states and heartbeats.
    public let toolboxControl: ToolboxControl
    /// Logins for private image registries.
    public let registries: RegistryCredentialService
    /// Per-call tickets, minted for accepted tool calls and redeemed by the DTMA that runs them.
    public let tickets: CallTickets
    /// The DTMAs' credential hand-out: a ticket for the calling agent's credentials.
    public let handouts: CredentialHandout
    /// Agents' tool calls: rights, ticket, the DTMA, the outcome.
    public let calls: ToolCallService
    /// The appliance's DigitalOcean token.
    public let digitalOcean: DigitalOceanAccountService
    /// DigitalOcean toolboxes' droplets: created, waited for, deleted.
    public let provisioning: DigitalOceanProvisioning
    /// Droplet agents trading their enrollment token for their toolbox token.
    public let enrollment: ToolboxEnrollment
    /// The agent release droplets download: the binary, its version and SHA-256, and its `.deb`.
    public let distribution: AgentDistribution
    /// Tool calls on their way to droplets' DTMAs, over the connections the droplets open.
    public let relay: CallRelay
    /// How often droplets' DTMAs send heartbeats; one silent for three intervals turns unreachable.
    public let heartbeatInterval: Duration

    /// The admin's choices that shape the rules.
    public struct Configuration: Sendable {
        /// Where tool instances get their host ports.
        public var portRange: ClosedRange<Int>
        /// Who may create local toolboxes.
        public var localToolboxes: LocalToolboxPolicy
        /// The local Docker engine's socket, checked before a local toolbox is created; nil when no local DTMA runs.
        public var dockerSocket: String?
        /// How long a call ticket waits for its redemption.
        public var ticketLifetime: Duration
        /// The DigitalOcean API: the real one, or a stand-in's URL on loopback.
        public var digitalOceanAPI: String
        /// How long a droplet's agent has to enroll before its toolbox turns `error`.
        public var enrollmentTimeout: Duration
        /// The URL droplets call home to; DigitalOcean toolboxes need one.
        public var publicURL: String?
        /// The pin of the appliance's own TLS key (`serve --tls`), which droplets check; nil behind a proxy's certificate.
        public var appliancePin: String?
        /// How often droplets' DTMAs send heartbeats (they learn it from each answer).
        public var heartbeatInterval: Duration
        /// The agentbox binary droplets download and run; nil for this process's own binary.
        public var agentBinary: String?
        /// How many failed token checks a source address may make before its checks are refused for a while.
        public var tokenAttempts: TokenAttemptLimiter.Policy = .standard

        public init(
            portRange: ClosedRange<Int> = PortLeases.defaultRange, localToolboxes: LocalToolboxPolicy = .everyone, dockerSocket: String? = nil,
            ticketLifetime: Duration = .seconds(30), digitalOceanAPI: String = DigitalOceanClient.defaultBaseURL,
            enrollmentTimeout: Duration = .seconds(900), publicURL: String? = nil, appliancePin: String? = nil,
            heartbeatInterval: Duration = .seconds(10)
        ) {
            self.heartbeatInterval = heartbeatInterval
            self.appliancePin = appliancePin
            self.publicURL = publicURL
            self.portRange = portRange
            self.localToolboxes = localToolboxes
            self.dockerSocket = dockerSocket
            self.ticketLifetime = ticketLifetime
            self.digitalOceanAPI = digitalOceanAPI
            self.enrollmentTimeout = enrollmentTimeout
        }
    }

    /// Builds every service with the given configuration.
    public init(backend: Backend, configuration: Configuration = Configuration()) {
        self.backend = backend
        let tokens = TokenService(database: backend.database, vault: backend.vault, limiter: TokenAttemptLimiter(policy: configuration.tokenAttempts))
        let audit = AuditLog(vault: backend.vault)
        self.tokens = tokens
        self.audit = audit
        users = UserService(database: backend.database, tokens: tokens, audit: audit)
        agents = AgentService(database: backend.database, tokens: tokens, audit: audit)
        catalog = CatalogService(database: backend.database, audit: audit)
        let signals = ToolboxSignals()
        let digitalOcean = DigitalOceanAccountService(database: backend.database, vault: backend.vault, audit: audit, apiURL: configuration.digitalOceanAPI)
        self.digitalOcean = digitalOcean
        enrollment = ToolboxEnrollment(database: backend.database, tokens: tokens, audit: audit)
        distribution = AgentDistribution(binary: configuration.agentBinary)
        provisioning = DigitalOceanProvisioning(
            database: backend.database, audit: audit, tokens: tokens, account: digitalOcean, publicURL: configuration.publicURL,
            pin: configuration.appliancePin, enrollmentTimeout: configuration.enrollmentTimeout, placementGrace: .seconds(60))
        toolboxes = ToolboxService(
            database: backend.database, tokens: tokens, audit: audit, localToolboxes: configuration.localToolboxes,
            engine: configuration.dockerSocket.map { DockerProbe(socketPath: $0) }, signals: signals, digitalOcean: digitalOcean,
            publicURL: configuration.publicURL)
        instances = InstanceService(database: backend.database, audit: audit, ports: PortLeases(range: configuration.portRange), signals: signals)
        toolbelts = ToolbeltService(database: backend.database, audit: audit)
        credentials = CredentialService(database: backend.database, vault: backend.vault, audit: audit)
        toolboxControl = ToolboxControl(database: backend.database, vault: backend.vault, audit: audit, signals: signals)
        registries = RegistryCredentialService(database: backend.database, vault: backend.vault, audit: audit)
        let tickets = CallTickets(lifetime: configuration.ticketLifetime)
        self.tickets = tickets
        handouts = CredentialHandout(database: backend.database, vault: backend.vault, audit: audit, tickets: tickets)
        calls = ToolCallService(database: backend.database, vault: backend.vault, audit: audit, tickets: tickets)
        heartbeatInterval = configuration.heartbeatInterval
        relay = CallRelay(grace: configuration.heartbeatInterval * 3)
        calls.attach(relay, for: .digitalocean)
    }

    /// Audit records, newest first: all for an admin, a user's own actions otherwise.
    public func auditEntries(
        actionPrefix: String? = nil, outcome: AuditOutcome? = nil, page: PageRequest, by principal: Principal
    ) async throws -> Page<AuditLogEntry> {
        let scope = try principal.ownerScope()
        return try await backend.database.snapshot { tx in try tx.auditLogEntries(actorID: scope, actionPrefix: actionPrefix, outcome: outcome, page: page) }
    }

    /// Rotates the vault's data key (admins only), recording who asked.
    public func rotateVault(by principal: Principal) async throws -> RotationReport {
        _ = try principal.requireAdmin()
        let report = try await backend.vault.rotate()
        try await backend.database.transaction { [audit] tx in
            try audit.append(
                AuditEvent(
                    actor: principal.auditActor, action: "vault.rotate",
                    detail: ["new_key_version": String(report.newKeyVersion), "resealed": String(report.resealed)]), in: tx)
        }
        return report
    }
}

import Foundation
import Vault

/// A table of the hosted stack agentbox replaces (SCHEMA.md's seven, with the stack's users and agents), in the
/// order `agentbox import postgres` brings them in: every row after the rows it refers to.
public enum HostedStackTable: String, CaseIterable, Sendable, Hashable {
    case users
    case agents
    case toolCatalog = "tool_catalog"
    case toolboxes = "account_tool_environments"
    case instances = "account_tool_instances"
    case toolboxAccess = "agent_toolbox_access"
    case toolbeltItems = "agent_toolbelt_items"
    case permissions = "agent_tool_capability_permissions"
    case credentials = "agent_tool_credentials"

    /// The columns read, each as text; a source table may lack the optional ones (read as NULL).
    public var columns: [String] { required + optional }

    /// Columns the source table must have.
    public var required: [String] {
        switch self {
        case .users: ["id"]
        case .agents: ["id", "user_id", "name"]
        case .toolCatalog: ["id", "name", "docker_image_url"]
        case .toolboxes: ["id", "user_id", "name", "status"]
        case .instances: ["id", "account_tool_environment_id", "tool_catalog_id", "instance_name_on_toolbox", "status_on_toolbox"]
        case .toolboxAccess: ["id", "agent_id", "account_tool_environment_id"]
        case .toolbeltItems: ["id", "agent_id", "account_tool_instance_id"]
        case .permissions: ["id", "agent_toolbelt_item_id", "capability_name", "is_allowed"]
        case .credentials: ["id", "agent_toolbelt_item_id", "credential_type", "encrypted_credentials", "status"]
        }
    }

    /// Columns read when the source table has them.
    public var optional: [String] {
        switch self {
        case .users: ["name", "email", "created_at", "updated_at"]
        case .agents: ["description", "created_at", "updated_at"]
        case .toolCatalog:
            [
                "description", "default_config_json_schema", "required_capabilities_schema", "required_secrets_schema", "version", "is_enabled",
                "created_at", "updated_at",
            ]
        case .toolboxes: ["droplet_id", "region", "size_slug", "public_ip_address", "provider", "created_at", "updated_at"]
        case .instances: ["port_mapping_json", "last_heartbeat_from_dtma", "version", "base_config_override_json", "created_at", "updated_at"]
        case .toolboxAccess: ["granted_at"]
        case .toolbeltItems: ["is_active_for_agent", "created_at", "updated_at"]
        case .permissions: ["created_at", "updated_at"]
        case .credentials: ["account_identifier", "last_validated_at", "created_at", "updated_at"]
        }
    }

    /// Columns holding times, read as seconds since 1970.
    public var timeColumns: Set<String> {
        ["created_at", "updated_at", "granted_at", "last_heartbeat_from_dtma", "last_validated_at"]
    }
}

/// What `agentbox import postgres` read from the hosted stack's database: each table's rows, every value as text
/// (absent for SQL NULL, times as seconds since 1970), and the plain text of the vault secrets the credentials
/// refer to, by secret id (lowercase), in guarded memory that is wiped when these rows are released.
public struct HostedStackRows: Sendable {
    public typealias Row = [String: String]

    public var tables: [HostedStackTable: [Row]]
    public var secrets: [String: SecureBytes]

    public init(tables: [HostedStackTable: [Row]], secrets: [String: SecureBytes]) {
        self.tables = tables
        self.secrets = secrets
    }
}

/// What an import brought in, found already there, or refused (and why), and which toolboxes need their agents
/// enrolled again.
public struct ImportReport: Sendable {
    /// A source row that was not imported.
    public struct Refusal: Sendable, Equatable {
        public let table: HostedStackTable
        /// The row's id as the source has it.
        public let id: String
        public let reason: String
    }

    /// A DigitalOcean toolbox whose droplet still runs the hosted stack's Node.js agent.
    public struct Reenrollment: Sendable, Equatable {
        public let toolboxID: UUID
        public let name: String
        public let dropletID: Int64?
        public let address: String?
    }

    /// True for `--dry-run`: nothing was written.
    public let dryRun: Bool
    public internal(set) var imported: [HostedStackTable: Int] = [:]
    /// Rows whose id agentbox has already (an earlier import): left as they are.
    public internal(set) var alreadyPresent: [HostedStackTable: Int] = [:]
    public internal(set) var refused: [Refusal] = []
    public internal(set) var reenroll: [Reenrollment] = []

    /// How many rows were imported in all.
    public var importedCount: Int { imported.values.reduce(0, +) }
}

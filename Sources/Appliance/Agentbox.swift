import ArgumentParser
import ToolboxProtocol

/// The `agentbox` command: one binary for the backend, the local toolbox agent and the offline tools.
@main
struct Agentbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentbox",
        abstract: "A self-hosted appliance that runs tools for AI agents.",
        discussion: """
            agentbox keeps users, agents, the tool catalog, toolboxes and each agent's toolbelt in one \
            SQLite file, seals credentials in a libsodium vault, and runs tool containers on Docker.

            Start with `agentbox serve`; every command that touches data takes --data-dir \
            (or AGENTBOX_DATA_DIR). The resource commands (agent, toolbox, catalog, ...) are clients \
            of a running server: save its URL and a token once with `agentbox login`.
            """,
        version: AgentboxBuild.version,
        subcommands: [
            ServeCommand.self, AdminCommand.self, DatabaseCommand.self, VaultCommand.self, AuditCommand.self, VersionCommand.self,
            LoginCommand.self, LogoutCommand.self, MeCommand.self, UserCommand.self, AgentCommand.self, TokenCommand.self,
            CatalogCommand.self, RegistryCommand.self, DigitalOceanCommand.self, ToolboxCommand.self, InstanceCommand.self, AccessCommand.self, ToolbeltCommand.self,
            PermissionCommand.self, CredentialCommand.self, BackupCommand.self, RestoreCommand.self, DoctorCommand.self,
            DTMACommand.self, BenchCommand.self, ImportCommand.self,
        ]
    )
}

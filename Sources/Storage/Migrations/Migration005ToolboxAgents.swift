import GRDB

/// What the appliance keeps of each toolbox's DTMA from its heartbeats: the agent version it runs (shown to the
/// user; droplets update themselves to the appliance's) and when its last heartbeat arrived (a droplet silent for
/// longer than a grace period turns `unreachable`).
enum Migration005ToolboxAgents {
    static let identifier = "005_toolbox_agents"

    private static let time = "GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'"

    static func migrate(_ db: Database) throws {
        let table = "account_tool_environments"
        for statement in [
            """
            ALTER TABLE \(table) ADD COLUMN agent_version TEXT
                CONSTRAINT "\(table).agent_version" CHECK (agent_version IS NULL OR agent_version <> '')
            """,
            """
            ALTER TABLE \(table) ADD COLUMN last_heartbeat_at TEXT
                CONSTRAINT "\(table).last_heartbeat_at" CHECK (last_heartbeat_at IS NULL OR last_heartbeat_at \(time))
            """,
        ] {
            try db.execute(sql: statement)
        }
    }
}

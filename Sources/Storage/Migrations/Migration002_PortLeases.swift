import GRDB

/// Port leases: a host port is leased to one tool instance, unique per Docker engine (all local
/// toolboxes share the local engine; each droplet has its own), so two instances never race for a port.
enum Migration002PortLeases {
    static let identifier = "002_port_leases"

    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE port_leases (
                    engine TEXT NOT NULL CONSTRAINT "port_leases.engine" CHECK (engine <> ''),
                    port INTEGER NOT NULL CONSTRAINT "port_leases.port" CHECK (port BETWEEN 1 AND 65535),
                    account_tool_instance_id TEXT NOT NULL UNIQUE REFERENCES account_tool_instances(id) ON DELETE CASCADE,
                    leased_at TEXT NOT NULL CONSTRAINT "port_leases.leased_at"
                        CHECK (leased_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
                    PRIMARY KEY (engine, port)
                ) STRICT
                """)
    }
}

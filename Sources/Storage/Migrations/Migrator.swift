import GRDB

/// The versioned, named migrations of agentbox's database, in order.
enum Migrator {
    /// Every migration this version knows. Append new ones; never edit or remove a shipped one.
    static let databaseMigrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(Migration001InitialSchema.identifier, migrate: Migration001InitialSchema.migrate)
        migrator.registerMigration(Migration002PortLeases.identifier, migrate: Migration002PortLeases.migrate)
        migrator.registerMigration(Migration003InstanceRuntime.identifier, migrate: Migration003InstanceRuntime.migrate)
        migrator.registerMigration(Migration004CloudCredentials.identifier, migrate: Migration004CloudCredentials.migrate)
        migrator.registerMigration(Migration005ToolboxAgents.identifier, migrate: Migration005ToolboxAgents.migrate)
        migrator.registerMigration(Migration006FullIdChecks.identifier, migrate: Migration006FullIdChecks.migrate)
        return migrator
    }()
}

import GRDB

/// Counts for the metrics endpoint: how many rows are in each status, and how long the audit log is.
public struct OperationalCounts: Sendable, Equatable {
    /// Tool instances per status; every status is present, 0 when no row has it.
    public var instances: [InstanceStatus: Int]
    /// Toolboxes per status; every status is present, 0 when no row has it.
    public var toolboxes: [ToolboxStatus: Int]
    /// The sequence number of the newest audit record (the log is append-only, so it counts every record written).
    public var auditRecords: Int64

    public init(instances: [InstanceStatus: Int], toolboxes: [ToolboxStatus: Int], auditRecords: Int64) {
        self.instances = instances
        self.toolboxes = toolboxes
        self.auditRecords = auditRecords
    }
}

extension AppDatabase {
    /// A trivial read that touches the file (its schema), for readiness checks.
    public func ping() async throws {
        _ = try await read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
        }
    }

    /// Instances and toolboxes by status, and the audit log's length, from one snapshot.
    public func operationalCounts() async throws -> OperationalCounts {
        try await read { db in
            var instances = Dictionary(uniqueKeysWithValues: InstanceStatus.allCases.map { ($0, 0) })
            for row in try Row.fetchAll(db, sql: "SELECT status_on_toolbox, count(*) FROM account_tool_instances GROUP BY status_on_toolbox") {
                if let status = InstanceStatus(rawValue: row[0]) { instances[status] = row[1] }
            }
            var toolboxes = Dictionary(uniqueKeysWithValues: ToolboxStatus.allCases.map { ($0, 0) })
            for row in try Row.fetchAll(db, sql: "SELECT status, count(*) FROM account_tool_environments GROUP BY status") {
                if let status = ToolboxStatus(rawValue: row[0]) { toolboxes[status] = row[1] }
            }
            let audit = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM audit_log") ?? 0
            return OperationalCounts(instances: instances, toolboxes: toolboxes, auditRecords: audit)
        }
    }
}

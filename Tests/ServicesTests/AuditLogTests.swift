import Foundation
import GRDB
@testable import Services
import TestSupport
import Testing

@testable import Storage

/// The hash-chained audit log: every edit, insertion or deletion of a record is found.
struct AuditLogTests {
    /// A backend with `count` audit records written through the real service.
    private func backendWithRecords(_ count: Int) async throws -> (TestBackend, AuditLog) {
        let test = try await TestBackend.make()
        let audit = AuditLog(vault: test.vault)
        for index in 0..<count {
            try await test.database.transaction { tx in
                try audit.append(AuditEvent(actor: .system, action: "test.event", targetType: "test", targetID: "\(index)"), in: tx)
            }
        }
        return (test, audit)
    }

    /// Runs raw SQL with the append-only triggers dropped, as someone with write access to the file could.
    private func tamper(_ database: AppDatabase, _ sql: String) async throws {
        try await database.write { db in
            for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'") {
                try db.execute(sql: "DROP TRIGGER \(trigger)")
            }
            try db.execute(sql: sql)
        }
    }

    @Test func anUntouchedChainVerifies() async throws {
        let (test, audit) = try await backendWithRecords(5)
        let result = try await audit.verify(test.database)
        #expect(result.isIntact)
        #expect(result.checked == 5)
    }

    @Test func detailsAreCompactJSONWithSortedKeysThatParseBackToThemselves() throws {
        let detail = ["b": "quote \" backslash \\ slash / newline \n tab \t bell \u{7} é 🔑", "a": "1", "": "empty key"]
        let text = AuditLog.json(detail)
        #expect(text.hasPrefix(#"{"":"empty key","a":"1","b":"quote \" backslash \\ slash / newline \n tab \t bell \u0007 é"#))
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
        #expect(parsed == detail)
        #expect(AuditLog.json([:]) == "{}")
    }

    @Test func anEditedRecordIsFound() async throws {
        let (test, audit) = try await backendWithRecords(5)
        try await tamper(test.database, #"UPDATE audit_log SET detail_json = '{"note":"rewritten"}' WHERE seq = 3"#)
        let result = try await audit.verify(test.database)
        #expect(result.firstBreak?.seq == 3)
        #expect(result.firstBreak?.reason.contains("edited") == true)
        #expect(result.checked == 2)
    }

    @Test func aDeletedRecordIsFound() async throws {
        let (test, audit) = try await backendWithRecords(5)
        try await tamper(test.database, "DELETE FROM audit_log WHERE seq = 2")
        let result = try await audit.verify(test.database)
        #expect(result.firstBreak?.seq == 3)
        #expect(result.firstBreak?.reason.contains("deleted") == true)
    }

    @Test func aRecordRehashedWithoutTheServerKeyIsFound() async throws {
        let (test, audit) = try await backendWithRecords(3)
        // Someone edits a record and recomputes an unkeyed hash: without the server key the chain still breaks.
        try await tamper(test.database, "UPDATE audit_log SET action = 'test.forged', hash = randomblob(32) WHERE seq = 3")
        let result = try await audit.verify(test.database)
        #expect(result.firstBreak?.seq == 3)
    }
}

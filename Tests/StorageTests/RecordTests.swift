import Foundation
import GRDB
import Testing

@testable import Storage

/// Records read back exactly as written, in the stored forms the schema fixes.
struct RecordTests {
    @Test func everyRecordReadsBackEqual() async throws {
        let test = try TestDatabase()
        let db = test.database

        let user = try await db.insert(User(name: "ada", role: .admin))
        #expect(try await db.fetchUser(id: user.id) == user)
        #expect(try await db.fetchUser(name: "ada") == user)

        let agent = try await db.insert(Agent(userID: user.id, name: "helper", description: "Reads mail"))
        #expect(try await db.fetchAgent(id: agent.id) == agent)

        let tool = try await db.insert(
            ToolCatalogEntry(
                name: "gmail", description: nil, dockerImageURL: "tools/gmail:2", requiredCapabilitiesSchema: #"{"gmail_send": "Send Email"}"#,
                version: "2.0.0", isEnabled: false, containerPort: 9000, protocol: .mcp, memoryLimitMB: 512, cpuLimit: 1.5,
                executeTimeoutMS: 5_000))
        #expect(try await db.fetchToolCatalogEntry(id: tool.id) == tool)

        var toolbox = try await db.insert(
            AccountToolEnvironment(userID: user.id, name: "droplet", region: "fra1", sizeSlug: "s-1vcpu-1gb", provider: .digitalocean))
        #expect(try await db.fetchAccountToolEnvironment(id: toolbox.id) == toolbox)
        let toolboxToken = try await db.insert(
            APIToken(
                kind: .toolbox, accountToolEnvironmentID: toolbox.id, name: "dtma", prefix: "abx_tb_", tokenHash: randomData(),
                lastUsedAt: Timestamp.now(), expiresAt: Timestamp.now().addingTimeInterval(3_600)))
        #expect(try await db.fetchAPIToken(id: toolboxToken.id) == toolboxToken)
        #expect(try await db.fetchAPIToken(tokenHash: toolboxToken.tokenHash) == toolboxToken)
        toolbox.dtmaBearerTokenID = toolboxToken.id
        toolbox.status = .error
        toolbox.statusDetail = "droplet did not enroll"
        toolbox.currentOperation = "resizing"
        toolbox.reachability = .unreachable
        toolbox.dropletID = 512_345_678
        toolbox.publicIPAddress = "203.0.113.7"
        toolbox.agentVersion = "0.1.0"
        toolbox.lastHeartbeatAt = Timestamp.now()
        toolbox.updatedAt = Timestamp.now()
        try await db.update(toolbox)
        #expect(try await db.fetchAccountToolEnvironment(id: toolbox.id) == toolbox)

        let instance = try await db.insert(
            AccountToolInstance(
                accountToolEnvironmentID: toolbox.id, toolCatalogID: tool.id, instanceNameOnToolbox: "agentbox-gmail-1",
                statusOnToolbox: .error, portMappingJSON: #"{"container_port": 9000, "host_port": 49153}"#,
                lastHeartbeatFromDTMA: Timestamp.now(), version: tool.version, baseConfigOverrideJSON: #"{"label": "x"}"#,
                statusDetail: "OOMKilled"))
        #expect(try await db.fetchAccountToolInstance(id: instance.id) == instance)
        // Instances are decoded by hand: every optional column, set, reads back too.
        var upgrading = instance
        upgrading.imageRef = "127.0.0.1:5000/gmail:2"
        upgrading.restartRequestedAt = Timestamp.now()
        upgrading.previousVersion = "1.0.0"
        upgrading.previousImageRef = "127.0.0.1:5000/gmail:1"
        try await db.update(upgrading)
        #expect(try await db.fetchAccountToolInstance(id: instance.id) == upgrading)
        try await db.update(instance)

        let access = try await db.insert(AgentToolboxAccess(agentID: agent.id, accountToolEnvironmentID: toolbox.id))
        #expect(try await db.fetchAgentToolboxAccess(id: access.id) == access)

        let item = try await db.insert(AgentToolbeltItem(agentID: agent.id, accountToolInstanceID: instance.id, isActiveForAgent: false))
        #expect(try await db.fetchAgentToolbeltItem(id: item.id) == item)

        let permission = try await db.insert(
            AgentToolCapabilityPermission(agentToolbeltItemID: item.id, capabilityName: "gmail_send", isAllowed: false))
        #expect(try await db.fetchAgentToolCapabilityPermission(id: permission.id) == permission)

        let credential = try await db.insert(
            AgentToolCredential(
                agentToolbeltItemID: item.id, credentialType: "oauth2", encryptedCredentials: randomData(count: 90),
                accountIdentifier: "user@gm***.com", lastValidatedAt: Timestamp.now(), status: .requiresReauth))
        #expect(try await db.fetchAgentToolCredential(id: credential.id) == credential)

        let agentToken = try await db.insert(APIToken(kind: .agent, agentID: agent.id, prefix: "abx_ag_", tokenHash: randomData()))
        #expect(try await db.fetchAPIToken(id: agentToken.id) == agentToken)

        let meta = VaultMeta(
            formatVersion: 1, masterKeyKind: .passphrase, keyCheckValue: randomData(), serverKeyWrapped: randomData(), kdfAlgorithm: "argon2id13",
            kdfSalt: randomData(count: 16), kdfOpslimit: 3, kdfMemlimit: 268_435_456)
        let key = VaultKey(version: 1, wrappedKey: randomData(count: 72), state: .active)
        try await db.write { db in
            try meta.insert(db)
            try key.insert(db)
        }
        #expect(try await db.read { db in try VaultMeta.fetchOne(db, key: 1) } == meta)
        #expect(try await db.read { db in try VaultKey.fetchOne(db, key: 1) } == key)
        try test.expectNoDanglingRows()
    }

    @Test func listsFollowTheirParent() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        let db = test.database

        #expect(try await db.fetchAgents(userID: chain.userID).map(\.id) == [chain.agentID])
        #expect(try await db.fetchAccountToolEnvironments(userID: chain.userID).map(\.id) == [chain.toolboxID])
        #expect(try await db.fetchAccountToolInstances(accountToolEnvironmentID: chain.toolboxID).map(\.id) == [chain.instanceID])
        #expect(try await db.fetchAgentToolboxAccess(agentID: chain.agentID).map(\.id) == [chain.accessID])
        #expect(try await db.fetchAgentToolbeltItems(agentID: chain.agentID).map(\.id) == [chain.toolbeltItemID])
        #expect(try await db.fetchAgentToolbeltItems(accountToolInstanceID: chain.instanceID).map(\.id) == [chain.toolbeltItemID])
        #expect(try await db.fetchAgentToolCapabilityPermissions(agentToolbeltItemID: chain.toolbeltItemID).map(\.id) == [chain.permissionID])
        #expect(try await db.fetchAgentToolCredentials(agentToolbeltItemID: chain.toolbeltItemID).map(\.id) == [chain.credentialID])
        #expect(try await db.fetchAgents(userID: UUID()).isEmpty)
        try test.expectNoDanglingRows()
    }

    @Test func idsAndTimesAreStoredAsLowercaseUUIDAndISO8601Text() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        let stored = try await test.database.read { db in
            try Row.fetchOne(db, sql: "SELECT id, user_id, created_at, typeof(created_at) AS t FROM agents")
                .map { [$0["id"] as String, $0["user_id"] as String, $0["created_at"] as String, $0["t"] as String] }
        }
        let values = try #require(stored)
        #expect(values[0] == chain.agentID.uuidString.lowercased())
        #expect(values[1] == chain.userID.uuidString.lowercased())
        #expect(values[2].wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil)
        #expect(values[3] == "text")
        try test.expectNoDanglingRows()
    }

    @Test func auditEntriesGetAscendingSeqAndChainOrder() async throws {
        let test = try TestDatabase()
        #expect(try await test.database.fetchLastAuditLogEntry() == nil)
        var previous = Data(count: 32)
        var inserted: [AuditLogEntry] = []
        for index in 0..<3 {
            let hash = randomData()
            let entry = try await test.database.insert(
                AuditLogEntry(
                    actorKind: .agent, actorID: UUID(), action: "tool.execute", targetType: "account_tool_instance",
                    targetID: "instance-\(index)", outcome: index == 1 ? .denied : .ok, detailJSON: #"{"rule": "capability_denied"}"#,
                    prevHash: previous, hash: hash))
            previous = hash
            inserted.append(entry)
        }
        #expect(inserted.compactMap(\.seq) == [1, 2, 3])
        #expect(try await test.database.fetchLastAuditLogEntry() == inserted.last)
        #expect(try await test.database.fetchAuditLogEntries() == inserted)
        #expect(try await test.database.fetchAuditLogEntries(afterSeq: 1, limit: 1) == [inserted[1]])
        #expect(try await test.database.fetchAuditLogEntry(id: inserted[0].id) == inserted[0])
        try test.expectNoDanglingRows()
    }

    @Test func updatingOrDeletingAMissingRowIsNotFound() async throws {
        let test = try TestDatabase()
        let ghost = User(name: "ghost")

        let update = await #expect(throws: StorageError.self) { try await test.database.update(ghost) }
        #expect(update?.code == .notFound)
        #expect(update?.table == "users")

        let delete = await #expect(throws: StorageError.self) { try await test.database.deleteUser(id: ghost.id) }
        #expect(delete?.code == .notFound)
        #expect(try await test.database.fetchUser(id: ghost.id) == nil)
        try test.expectNoDanglingRows()
    }

    @Test func aRowEditedByHandIntoAnUnknownFormIsReportedAsInvalid() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        // Only a connection that ignores CHECKs can store a role that UserRole does not know.
        try await test.database.pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: "UPDATE users SET role = 'superuser' WHERE id = ?", arguments: [chain.userID.uuidString.lowercased()])
            try db.execute(sql: "PRAGMA ignore_check_constraints = OFF")
        }
        let error = await #expect(throws: StorageError.self) { try await test.database.fetchUser(id: chain.userID) }
        #expect(error?.code == .invalidRow)

        // The same for a record decoded by hand, and its message names the column.
        try await test.database.pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: "UPDATE account_tool_instances SET status_on_toolbox = 'sleeping' WHERE id = ?", arguments: [chain.instanceID.uuidString.lowercased()])
            try db.execute(sql: "PRAGMA ignore_check_constraints = OFF")
        }
        let instanceError = await #expect(throws: StorageError.self) { try await test.database.fetchAccountToolInstance(id: chain.instanceID) }
        #expect(instanceError?.code == .invalidRow)
        #expect(instanceError?.message.contains("status_on_toolbox") == true)
    }
}

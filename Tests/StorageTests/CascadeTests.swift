import Foundation
import Testing

@testable import Storage

/// What deleting a parent does to its children.
struct CascadeTests {
    @Test func deletingAnInstanceRemovesItsToolbeltItemsPermissionsAndCredentials() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        let db = test.database

        try await db.deleteAccountToolInstance(id: chain.instanceID)

        #expect(try await db.fetchAccountToolInstance(id: chain.instanceID) == nil)
        #expect(try await db.fetchAgentToolbeltItem(id: chain.toolbeltItemID) == nil)
        #expect(try await db.fetchAgentToolCapabilityPermission(id: chain.permissionID) == nil)
        #expect(try await db.fetchAgentToolCredential(id: chain.credentialID) == nil)
        // The rest of the chain stays.
        #expect(try await db.fetchAgent(id: chain.agentID) != nil)
        #expect(try await db.fetchAccountToolEnvironment(id: chain.toolboxID) != nil)
        #expect(try await db.fetchAgentToolboxAccess(id: chain.accessID) != nil)
        #expect(try await db.fetchToolCatalogEntry(id: chain.toolID) != nil)
        try test.expectNoDanglingRows()
    }

    @Test func deletingAnAgentRemovesItsAccessToolbeltTokensAndWhatHangsOffThem() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        let db = test.database

        try await db.deleteAgent(id: chain.agentID)

        #expect(try await db.fetchAgentToolboxAccess(id: chain.accessID) == nil)
        #expect(try await db.fetchAgentToolbeltItem(id: chain.toolbeltItemID) == nil)
        #expect(try await db.fetchAgentToolCapabilityPermission(id: chain.permissionID) == nil)
        #expect(try await db.fetchAgentToolCredential(id: chain.credentialID) == nil)
        #expect(try await db.fetchAPIToken(id: chain.agentTokenID) == nil)
        // The instance and the toolbox belong to the user, not the agent.
        #expect(try await db.fetchAccountToolInstance(id: chain.instanceID) != nil)
        #expect(try await db.fetchAccountToolEnvironment(id: chain.toolboxID) != nil)
        #expect(try await db.fetchUser(id: chain.userID) != nil)
        try test.expectNoDanglingRows()
    }

    @Test func deletingAToolboxWithInstancesIsRefused() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        let db = test.database

        let error = await #expect(throws: StorageError.self) { try await db.deleteAccountToolEnvironment(id: chain.toolboxID) }
        #expect(error?.code == .foreignKeyViolation)
        // Nothing was deleted.
        #expect(try await db.fetchAccountToolEnvironment(id: chain.toolboxID) != nil)
        #expect(try await db.fetchAccountToolInstance(id: chain.instanceID) != nil)
        #expect(try await db.fetchAgentToolboxAccess(id: chain.accessID) != nil)
        #expect(try await db.fetchAPIToken(id: chain.toolboxTokenID) != nil)
        try test.expectNoDanglingRows()
    }

    @Test func deletingAToolboxWithoutInstancesRemovesItsAccessRowsAndTokens() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        let db = test.database

        try await db.deleteAccountToolInstance(id: chain.instanceID)
        try await db.deleteAccountToolEnvironment(id: chain.toolboxID)

        #expect(try await db.fetchAccountToolEnvironment(id: chain.toolboxID) == nil)
        #expect(try await db.fetchAgentToolboxAccess(id: chain.accessID) == nil)
        #expect(try await db.fetchAPIToken(id: chain.toolboxTokenID) == nil)
        #expect(try await db.fetchAgent(id: chain.agentID) != nil)
        try test.expectNoDanglingRows()
    }

    @Test func deletingACatalogEntryWithInstancesIsRefused() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()

        let error = await #expect(throws: StorageError.self) { try await test.database.deleteToolCatalogEntry(id: chain.toolID) }
        #expect(error?.code == .foreignKeyViolation)
        #expect(try await test.database.fetchToolCatalogEntry(id: chain.toolID) != nil)
        try test.expectNoDanglingRows()
    }

    @Test func deletingAUserWithAgentsOrToolboxesIsRefused() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()
        let db = test.database

        let error = await #expect(throws: StorageError.self) { try await db.deleteUser(id: chain.userID) }
        #expect(error?.code == .foreignKeyViolation)
        #expect(try await db.fetchUser(id: chain.userID) != nil)
        #expect(try await db.fetchAPIToken(id: chain.userTokenID) != nil)

        // Without agents the toolbox still holds the user back.
        try await db.deleteAgent(id: chain.agentID)
        let stillOwnsToolbox = await #expect(throws: StorageError.self) { try await db.deleteUser(id: chain.userID) }
        #expect(stillOwnsToolbox?.code == .foreignKeyViolation)
        try test.expectNoDanglingRows()
    }

    @Test func deletingAUserWithNothingLeftRemovesTheirTokens() async throws {
        let test = try TestDatabase()
        let user = try await test.database.insert(User(name: "leaving"))
        let token = try await test.database.insert(APIToken(kind: .user, userID: user.id, prefix: "abx_us_", tokenHash: randomData()))

        try await test.database.deleteUser(id: user.id)

        #expect(try await test.database.fetchAPIToken(id: token.id) == nil)
        try test.expectNoDanglingRows()
    }

    @Test func deletingAToolboxTokenClearsTheToolboxReference() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()

        try await test.database.deleteAPIToken(id: chain.toolboxTokenID)

        let toolbox = try #require(try await test.database.fetchAccountToolEnvironment(id: chain.toolboxID))
        #expect(toolbox.dtmaBearerTokenID == nil)
        try test.expectNoDanglingRows()
    }

    @Test func deletingAToolbeltItemRemovesItsPermissionsAndCredentials() async throws {
        let test = try TestDatabase()
        let chain = try await test.seedChain()

        try await test.database.deleteAgentToolbeltItem(id: chain.toolbeltItemID)

        #expect(try await test.database.fetchAgentToolCapabilityPermission(id: chain.permissionID) == nil)
        #expect(try await test.database.fetchAgentToolCredential(id: chain.credentialID) == nil)
        #expect(try await test.database.fetchAccountToolInstance(id: chain.instanceID) != nil)
        try test.expectNoDanglingRows()
    }
}

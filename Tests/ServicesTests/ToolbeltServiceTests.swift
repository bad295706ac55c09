import Foundation
import JSONSchema
import Services
import Storage
import TestSupport
import Testing

extension ToolbeltTestBed {
    /// The service error `body` throws, or nil.
    static func failure(_ body: () async throws -> Void) async -> ServiceError? {
        do {
            try await body()
            return nil
        } catch let error as ServiceError {
            return error
        } catch {
            Issue.record("expected a ServiceError, got \(error)")
            return nil
        }
    }
}

/// Toolbox access, toolbelt items and capability permissions: their rules, their isolation and their audit records.
struct ToolbeltServiceTests {
    private let page = PageRequest()

    @Test func grantingAccessIsListedAuditedAndRefusedTwice() async throws {
        let bed = try await ToolbeltTestBed.make()
        let world = try await bed.world("ada", owner: bed.ada)
        let access = try await bed.plane.toolbelts.grantAccess(agentID: world.agent.id, toolboxID: world.toolbox.id, by: bed.ada)
        #expect(access.agentID == world.agent.id && access.accountToolEnvironmentID == world.toolbox.id)
        #expect(try await bed.plane.toolbelts.listAccess(agentID: world.agent.id, page: page, by: bed.ada).items == [access])
        #expect(try await bed.audit(of: access.id).map(\.action) == ["toolbox_access.grant"])

        let before = try await bed.auditCount()
        let twice = await ToolbeltTestBed.failure {
            _ = try await bed.plane.toolbelts.grantAccess(agentID: world.agent.id, toolboxID: world.toolbox.id, by: bed.ada)
        }
        #expect(twice?.code == .conflict)
        #expect(twice?.message.contains("already has access") == true)
        #expect(try await bed.auditCount() == before, "a refused change records nothing")
    }

    @Test func accessToAnotherUsersAgentOrToolboxIsNotFoundAndAdminsCannotMixOwners() async throws {
        let bed = try await ToolbeltTestBed.make()
        let ada = try await bed.world("ada", owner: bed.ada)
        let bob = try await bed.world("bob", owner: bed.bob)
        let toolboxes = bed.plane.toolbelts
        let missingToolbox = await ToolbeltTestBed.failure { _ = try await toolboxes.grantAccess(agentID: ada.agent.id, toolboxID: UUID(), by: bed.ada) }
        let bobsToolbox = await ToolbeltTestBed.failure { _ = try await toolboxes.grantAccess(agentID: ada.agent.id, toolboxID: bob.toolbox.id, by: bed.ada) }
        #expect(missingToolbox?.code == .notFound && bobsToolbox?.code == .notFound)
        #expect(bobsToolbox?.message.hasPrefix("no toolbox has id") == true, "the same words as for a missing toolbox")
        let bobsAgent = await ToolbeltTestBed.failure { _ = try await toolboxes.grantAccess(agentID: bob.agent.id, toolboxID: ada.toolbox.id, by: bed.ada) }
        #expect(bobsAgent?.code == .notFound)
        let mixed = await ToolbeltTestBed.failure { _ = try await toolboxes.grantAccess(agentID: ada.agent.id, toolboxID: bob.toolbox.id, by: bed.admin) }
        #expect(mixed?.code == .unprocessable)
        #expect(mixed?.message.contains("belongs to another user") == true)
        let listed = await ToolbeltTestBed.failure { _ = try await toolboxes.listAccess(agentID: bob.agent.id, page: page, by: bed.ada) }
        #expect(listed?.code == .notFound)
        #expect(try await bed.database.fetchAgentToolboxAccess(agentID: ada.agent.id).isEmpty)
        #expect(try await bed.database.fetchAgentToolboxAccess(agentID: bob.agent.id).isEmpty)
        // An admin may grant a user's agent that user's toolbox.
        _ = try await toolboxes.grantAccess(agentID: bob.agent.id, toolboxID: bob.toolbox.id, by: bed.admin)
    }

    @Test func aToolboxBeingDeprovisionedTakesNoNewAgents() async throws {
        let bed = try await ToolbeltTestBed.make()
        for status in [ToolboxStatus.pendingDeprovision, .deprovisioning, .archived] {
            let world = try await bed.world("ada-\(status.rawValue)", owner: bed.ada, toolboxStatus: status)
            let refused = await ToolbeltTestBed.failure {
                _ = try await bed.plane.toolbelts.grantAccess(agentID: world.agent.id, toolboxID: world.toolbox.id, by: bed.ada)
            }
            #expect(refused?.code == .invalidState, "\(status)")
            #expect(refused?.message.contains(status.rawValue) == true)
        }
    }

    @Test func revokingAccessRemovesTheAgentsItemsOnThatToolboxOnlyInOneAuditedChange() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (world, item) = try await bed.belted("ada", owner: bed.ada)
        let (otherBox, otherInstance) = try await bed.secondToolbox(of: world, name: "ada-2")
        try await bed.plane.toolbelts.grantAccess(agentID: world.agent.id, toolboxID: otherBox.id, by: bed.ada)
        let kept = try await bed.plane.toolbelts.addItem(agentID: world.agent.id, instanceID: otherInstance.id, isActive: true, by: bed.ada)
        let permission = try await bed.plane.toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: true, by: bed.ada).permission
        let credential = try await bed.plane.credentials.create(
            itemID: item.id, type: "api_key", credentials: ["api_key": "abcdefgh-1"], accountIdentifier: nil, by: bed.ada)
        let access = try #require(try await bed.database.fetchAgentToolboxAccess(agentID: world.agent.id).first { $0.accountToolEnvironmentID == world.toolbox.id })

        let removed = try await bed.plane.toolbelts.revokeAccess(agentID: world.agent.id, toolboxID: world.toolbox.id, by: bed.ada)
        #expect(removed == [item.id])
        #expect(try await bed.database.fetchAgentToolbeltItem(id: item.id) == nil)
        #expect(try await bed.database.fetchAgentToolCapabilityPermission(id: permission.id) == nil)
        #expect(try await bed.database.fetchAgentToolCredential(id: credential.id) == nil)
        #expect(try await bed.database.fetchAgentToolbeltItem(id: kept.id) == kept, "items on other toolboxes stay")
        #expect(try await bed.plane.toolbelts.listAccess(agentID: world.agent.id, page: page, by: bed.ada).items.map(\.accountToolEnvironmentID) == [otherBox.id])
        let record = try #require(try await bed.audit(of: access.id).last)
        #expect(record.action == "toolbox_access.revoke")
        #expect(record.detailJSON.contains(item.id.uuidString.lowercased()))
        #expect(try await bed.audit(of: item.id).last?.action == "toolbelt_item.delete")
        #expect(try bed.database.foreignKeyViolations().isEmpty)

        let again = await ToolbeltTestBed.failure { try await bed.plane.toolbelts.revokeAccess(agentID: world.agent.id, toolboxID: world.toolbox.id, by: bed.ada) }
        #expect(again?.code == .notFound)
    }

    @Test func anInstanceJoinsTheBeltOnlyWithAccessToItsToolboxAndOnlyOnce() async throws {
        let bed = try await ToolbeltTestBed.make()
        let world = try await bed.world("ada", owner: bed.ada)
        let toolbelts = bed.plane.toolbelts
        let before = try await bed.auditCount()
        let noAccess = await ToolbeltTestBed.failure {
            _ = try await toolbelts.addItem(agentID: world.agent.id, instanceID: world.instance.id, isActive: true, by: bed.ada)
        }
        #expect(noAccess?.code == .unprocessable)
        #expect(noAccess?.message.contains("has no access to toolbox ada-box") == true)
        #expect(noAccess?.message.contains("/api/v1/agents/\(world.agent.id.uuidString.lowercased())/toolboxes") == true)
        #expect(try await bed.auditCount() == before)

        try await toolbelts.grantAccess(agentID: world.agent.id, toolboxID: world.toolbox.id, by: bed.ada)
        let item = try await toolbelts.addItem(agentID: world.agent.id, instanceID: world.instance.id, isActive: false, by: bed.ada)
        #expect(item.agentID == world.agent.id && item.accountToolInstanceID == world.instance.id && !item.isActiveForAgent)
        #expect(try await bed.audit(of: item.id).map(\.action) == ["toolbelt_item.add"])
        let twice = await ToolbeltTestBed.failure {
            _ = try await toolbelts.addItem(agentID: world.agent.id, instanceID: world.instance.id, isActive: true, by: bed.ada)
        }
        #expect(twice?.code == .conflict)
    }

    @Test func anotherUsersInstanceIsNotFoundAndAnInstanceBeingDeletedIsRefused() async throws {
        let bed = try await ToolbeltTestBed.make()
        let ada = try await bed.world("ada", owner: bed.ada)
        let bob = try await bed.world("bob", owner: bed.bob)
        let toolbelts = bed.plane.toolbelts
        try await toolbelts.grantAccess(agentID: ada.agent.id, toolboxID: ada.toolbox.id, by: bed.ada)
        let theirs = await ToolbeltTestBed.failure { _ = try await toolbelts.addItem(agentID: ada.agent.id, instanceID: bob.instance.id, isActive: true, by: bed.ada) }
        let missing = await ToolbeltTestBed.failure { _ = try await toolbelts.addItem(agentID: ada.agent.id, instanceID: UUID(), isActive: true, by: bed.ada) }
        #expect(theirs?.code == .notFound && missing?.code == .notFound)
        #expect(theirs?.message.hasPrefix("no tool instance has id") == true)
        let mixed = await ToolbeltTestBed.failure { _ = try await toolbelts.addItem(agentID: ada.agent.id, instanceID: bob.instance.id, isActive: true, by: bed.admin) }
        #expect(mixed?.code == .unprocessable)

        for status in [InstanceStatus.pendingDelete, .deleting] {
            var instance = ada.instance
            instance.statusOnToolbox = status
            try await bed.database.update(instance)
            let refused = await ToolbeltTestBed.failure { _ = try await toolbelts.addItem(agentID: ada.agent.id, instanceID: instance.id, isActive: true, by: bed.ada) }
            #expect(refused?.code == .invalidState, "\(status)")
        }
        #expect(try await bed.database.fetchAgentToolbeltItems(agentID: ada.agent.id).isEmpty)
    }

    @Test func itemsToggleListWithFiltersAndDeleteWithTheirPermissionsAndCredentials() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (world, item) = try await bed.belted("ada", owner: bed.ada)
        let (box, instance) = try await bed.secondToolbox(of: world, name: "ada-2")
        let toolbelts = bed.plane.toolbelts
        try await toolbelts.grantAccess(agentID: world.agent.id, toolboxID: box.id, by: bed.ada)
        let second = try await toolbelts.addItem(agentID: world.agent.id, instanceID: instance.id, isActive: true, by: bed.ada)

        let off = try await toolbelts.setItemActive(item.id, false, by: bed.ada)
        #expect(!off.isActiveForAgent && off.updatedAt >= item.updatedAt)
        #expect(try await toolbelts.getItem(item.id, by: bed.ada) == off)
        let auditAfterToggle = try await bed.auditCount()
        #expect(try await toolbelts.setItemActive(item.id, false, by: bed.ada) == off, "asking for the current value changes nothing")
        #expect(try await bed.auditCount() == auditAfterToggle)
        #expect(try await bed.audit(of: item.id).map(\.action) == ["toolbelt_item.add", "toolbelt_item.update"])

        let all = try await toolbelts.listItems(agentID: world.agent.id, isActive: nil, instanceID: nil, page: page, by: bed.ada)
        #expect(all.total == 2)
        #expect(try await toolbelts.listItems(agentID: world.agent.id, isActive: true, instanceID: nil, page: page, by: bed.ada).items == [second])
        #expect(try await toolbelts.listItems(agentID: world.agent.id, isActive: false, instanceID: nil, page: page, by: bed.ada).items == [off])
        #expect(try await toolbelts.listItems(agentID: world.agent.id, isActive: nil, instanceID: instance.id, page: page, by: bed.ada).items == [second])
        #expect(try await toolbelts.listItems(agentID: world.agent.id, isActive: nil, instanceID: nil, page: PageRequest(limit: 1, offset: 1), by: bed.ada).items.count == 1)

        let permission = try await toolbelts.setPermission(itemID: item.id, capability: "gmail_read", isAllowed: true, by: bed.ada).permission
        let credential = try await bed.plane.credentials.create(
            itemID: item.id, type: "api_key", credentials: ["api_key": "abcdefgh-2"], accountIdentifier: nil, by: bed.ada)
        try await toolbelts.deleteItem(item.id, by: bed.ada)
        #expect(try await bed.database.fetchAgentToolbeltItem(id: item.id) == nil)
        #expect(try await bed.database.fetchAgentToolCapabilityPermission(id: permission.id) == nil)
        #expect(try await bed.database.fetchAgentToolCredential(id: credential.id) == nil)
        #expect(try await bed.audit(of: item.id).last?.action == "toolbelt_item.delete")
        #expect(await ToolbeltTestBed.failure { _ = try await toolbelts.getItem(item.id, by: bed.ada) }?.code == .notFound)
    }

    @Test func permissionsNameOnlyTheToolsCapabilitiesAndUpsert() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (_, item) = try await bed.belted("ada", owner: bed.ada)
        let toolbelts = bed.plane.toolbelts
        let (created, isNew) = try await toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: true, by: bed.ada)
        #expect(isNew && created.isAllowed && created.capabilityName == "gmail_send")
        let (replaced, isNewAgain) = try await toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: false, by: bed.ada)
        #expect(!isNewAgain && !replaced.isAllowed && replaced.id == created.id)
        let count = try await bed.auditCount()
        #expect(try await toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: false, by: bed.ada).permission == replaced)
        #expect(try await bed.auditCount() == count, "setting the same value changes nothing")
        #expect(try await bed.audit(of: created.id).map(\.action) == ["capability_permission.set", "capability_permission.set"])

        let unknown = await ToolbeltTestBed.failure { _ = try await toolbelts.setPermission(itemID: item.id, capability: "gmail_delete", isAllowed: true, by: bed.ada) }
        #expect(unknown?.code == .unprocessable)
        #expect(unknown?.message.contains("'gmail_delete'") == true)
        #expect(unknown?.message.contains("valid capabilities: gmail_read, gmail_send") == true)
        let odd = await ToolbeltTestBed.failure {
            _ = try await toolbelts.setPermission(itemID: item.id, capability: String(repeating: "x", count: 500), isAllowed: true, by: bed.ada)
        }
        #expect(odd?.code == .unprocessable)
        #expect(odd?.message.contains(String(repeating: "x", count: 65)) == false, "an implausible name is described, not echoed")

        _ = try await toolbelts.setPermission(itemID: item.id, capability: "gmail_read", isAllowed: true, by: bed.ada)
        #expect(try await toolbelts.listPermissions(itemID: item.id, isAllowed: nil, page: page, by: bed.ada).items.map(\.capabilityName) == ["gmail_read", "gmail_send"])
        #expect(try await toolbelts.listPermissions(itemID: item.id, isAllowed: false, page: page, by: bed.ada).items.map(\.capabilityName) == ["gmail_send"])

        try await toolbelts.deletePermission(itemID: item.id, capability: "gmail_send", by: bed.ada)
        #expect(try await bed.audit(of: created.id).last?.action == "capability_permission.delete")
        #expect(try await toolbelts.listPermissions(itemID: item.id, isAllowed: nil, page: page, by: bed.ada).items.map(\.capabilityName) == ["gmail_read"])
        let gone = await ToolbeltTestBed.failure { try await toolbelts.deletePermission(itemID: item.id, capability: "gmail_send", by: bed.ada) }
        #expect(gone?.code == .notFound)
    }

    @Test func aToolWithoutCapabilitiesAcceptsNoPermission() async throws {
        let bed = try await ToolbeltTestBed.make()
        let world = try await bed.world("ada", owner: bed.ada, capabilities: "{}")
        try await bed.plane.toolbelts.grantAccess(agentID: world.agent.id, toolboxID: world.toolbox.id, by: bed.ada)
        let item = try await bed.plane.toolbelts.addItem(agentID: world.agent.id, instanceID: world.instance.id, isActive: true, by: bed.ada)
        let refused = await ToolbeltTestBed.failure { _ = try await bed.plane.toolbelts.setPermission(itemID: item.id, capability: "anything", isAllowed: true, by: bed.ada) }
        #expect(refused?.code == .unprocessable)
        #expect(refused?.message.contains("it has none") == true)
    }

    @Test func anotherUsersItemAndPermissionsAreNotFoundAndUnchanged() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (world, item) = try await bed.belted("ada", owner: bed.ada)
        let permission = try await bed.plane.toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: true, by: bed.ada).permission
        let toolbelts = bed.plane.toolbelts
        let bob = bed.bob
        let attempts: [(String, () async throws -> Void)] = [
            ("get item", { _ = try await toolbelts.getItem(item.id, by: bob) }),
            ("toggle item", { _ = try await toolbelts.setItemActive(item.id, false, by: bob) }),
            ("delete item", { try await toolbelts.deleteItem(item.id, by: bob) }),
            ("list items", { _ = try await toolbelts.listItems(agentID: world.agent.id, isActive: nil, instanceID: nil, page: page, by: bob) }),
            ("add item", { _ = try await toolbelts.addItem(agentID: world.agent.id, instanceID: world.instance.id, isActive: true, by: bob) }),
            ("revoke access", { try await toolbelts.revokeAccess(agentID: world.agent.id, toolboxID: world.toolbox.id, by: bob) }),
            ("set permission", { _ = try await toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: false, by: bob) }),
            ("list permissions", { _ = try await toolbelts.listPermissions(itemID: item.id, isAllowed: nil, page: page, by: bob) }),
            ("delete permission", { try await toolbelts.deletePermission(itemID: item.id, capability: "gmail_send", by: bob) }),
        ]
        for (name, attempt) in attempts {
            #expect(await ToolbeltTestBed.failure(attempt)?.code == .notFound, "\(name)")
        }
        #expect(try await bed.database.fetchAgentToolbeltItem(id: item.id) == item)
        #expect(try await bed.database.fetchAgentToolCapabilityPermission(id: permission.id) == permission)
        #expect(try await bed.database.fetchAgentToolboxAccess(agentID: world.agent.id).count == 1)
        #expect(try await toolbelts.getItem(item.id, by: bed.admin) == item, "an admin sees all")
    }

    @Test func agentTokensCannotManageToolbelts() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (world, item) = try await bed.belted("ada", owner: bed.ada)
        let agent = Principal.agent(world.agent)
        let toolbelts = bed.plane.toolbelts
        #expect(await ToolbeltTestBed.failure { _ = try await toolbelts.getItem(item.id, by: agent) }?.code == .forbidden)
        #expect(await ToolbeltTestBed.failure { _ = try await toolbelts.setItemActive(item.id, false, by: agent) }?.code == .forbidden)
        #expect(await ToolbeltTestBed.failure { _ = try await toolbelts.grantAccess(agentID: world.agent.id, toolboxID: world.toolbox.id, by: agent) }?.code == .forbidden)
        #expect(
            await ToolbeltTestBed.failure { _ = try await toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: true, by: agent) }?.code
                == .forbidden)
        #expect(try await bed.database.fetchAgentToolbeltItem(id: item.id) == item)
    }

    @Test func theAuditChainStaysIntactThroughEveryChange() async throws {
        let bed = try await ToolbeltTestBed.make()
        let (world, item) = try await bed.belted("ada", owner: bed.ada)
        _ = try await bed.plane.toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: true, by: bed.ada)
        _ = try await bed.plane.toolbelts.setItemActive(item.id, false, by: bed.ada)
        try await bed.plane.toolbelts.revokeAccess(agentID: world.agent.id, toolboxID: world.toolbox.id, by: bed.ada)
        let verification = try await bed.plane.audit.verify(bed.database)
        #expect(verification.isIntact && verification.checked >= 6)
    }
}

import Foundation
import JSONSchema
import Services
import Storage
import TestSupport
import Testing

/// The credential hand-out: a call ticket redeemed once by the toolbox hosting the call, for exactly the calling
/// agent's credentials; each rule, taken alone, denies with its own reason and an audit record.
struct CredentialHandoutTests {
    /// A world with an agent allowed `gmail_send` on its instance and an active credential, and a ticket minter.
    private struct Call {
        let bed: ToolbeltTestBed
        let world: ToolbeltTestBed.World
        let item: AgentToolbeltItem
        let credential: AgentToolCredential
        let secret: String

        static func make(_ bed: ToolbeltTestBed? = nil, name: String = "ada") async throws -> Call {
            let bed = if let bed { bed } else { try await ToolbeltTestBed.make() }
            let owner = name == "bob" ? bed.bob : bed.ada
            let (world, item) = try await bed.belted(name, owner: owner)
            _ = try await bed.plane.toolbelts.setPermission(itemID: item.id, capability: "gmail_send", isAllowed: true, by: owner)
            let secret = "canary-\(name)-\(UUID().uuidString)"
            let credential = try await bed.plane.credentials.create(
                itemID: item.id, type: "api_key", credentials: ["api_key": .string(secret)], accountIdentifier: nil, by: owner)
            return Call(bed: bed, world: world, item: item, credential: credential, secret: secret)
        }

        var toolbox: Principal { .toolbox(world.toolbox) }

        func ticket(capability: String = "gmail_send", instance: UUID? = nil, agent: UUID? = nil, tickets: CallTickets? = nil) -> String {
            (tickets ?? bed.plane.tickets).mint(
                CallTickets.Binding(
                    agentID: agent ?? world.agent.id, instanceID: instance ?? world.instance.id, capability: capability, requestID: "req-\(UUID())"))
        }

        /// The reason a redemption is denied with, and checks that a denial record says the same.
        func denial(_ ticket: String, by principal: Principal? = nil, handouts: CredentialHandout? = nil) async throws -> String? {
            let before = try await bed.auditCount()
            let error = await ToolbeltTestBed.failure { _ = try await (handouts ?? bed.plane.handouts).redeem(ticket, by: principal ?? toolbox) }
            guard let error, let reason = error.reason else { return nil }
            #expect(error.code == .forbidden)
            #expect(!error.message.contains(secret))
            let entries = try await bed.database.fetchAuditLogEntries(afterSeq: 0, limit: 10_000)
            if reason != "toolbox_token_required" {
                #expect(entries.count == before + 1, "one audit record per denial")
                let record = try #require(entries.last)
                #expect(record.action == "credential.handout" && record.outcome == .denied && record.detailJSON.contains(#""rule":"\#(reason)""#))
                #expect(!record.detailJSON.contains(secret))
            }
            return reason
        }
    }

    @Test func aTicketBuysTheCallingAgentsOwnCredentialOnceAndIsAudited() async throws {
        let ada = try await Call.make()
        let ticket = ada.ticket()
        #expect(ticket.hasPrefix("abx_c_") && ticket.count == 49)
        let grant = try await ada.bed.plane.handouts.redeem(ticket, by: ada.toolbox)
        #expect(grant.credentialID == ada.credential.id && grant.credentialType == "api_key" && grant.binding.agentID == ada.world.agent.id)
        #expect(grant.secret.text == #"{"api_key":"\#(ada.secret)"}"#)
        let record = try #require(try await ada.bed.audit(of: ada.world.instance.id).last)
        #expect(record.action == "credential.handout" && record.outcome == .ok && record.actorID == ada.world.toolbox.id)
        #expect(record.detailJSON.contains(ada.credential.id.uuidString.lowercased()) && record.detailJSON.contains(grant.binding.requestID))
        #expect(!record.detailJSON.contains(ada.secret))
        #expect(try await ada.denial(ticket) == "ticket_used")

        // A second agent on the same instance gets its own credential, never the first one's.
        let eve = try await ada.bed.database.insert(Agent(userID: ada.world.agent.userID, name: "eve"))
        try await ada.bed.plane.toolbelts.grantAccess(agentID: eve.id, toolboxID: ada.world.toolbox.id, by: ada.bed.ada)
        let eveItem = try await ada.bed.plane.toolbelts.addItem(agentID: eve.id, instanceID: ada.world.instance.id, isActive: true, by: ada.bed.ada)
        _ = try await ada.bed.plane.toolbelts.setPermission(itemID: eveItem.id, capability: "gmail_send", isAllowed: true, by: ada.bed.ada)
        _ = try await ada.bed.plane.credentials.create(
            itemID: eveItem.id, type: "api_key", credentials: ["api_key": "eve-secret-123"], accountIdentifier: nil, by: ada.bed.ada)
        let eveGrant = try await ada.bed.plane.handouts.redeem(ada.ticket(agent: eve.id), by: ada.toolbox)
        #expect(eveGrant.secret.text == #"{"api_key":"eve-secret-123"}"#)
    }

    @Test func eachRuleTakenAloneDeniesWithItsOwnReason() async throws {
        let ada = try await Call.make()
        let bed = ada.bed
        let bob = try await Call.make(bed, name: "bob")

        #expect(try await ada.denial(ada.ticket(), by: bed.ada) == "toolbox_token_required")
        #expect(try await ada.denial("abx_c_not-a-ticket") == "ticket_invalid")
        let shortLived = CallTickets(lifetime: .milliseconds(20))
        let handouts = CredentialHandout(database: bed.database, vault: bed.test.vault, audit: bed.plane.audit, tickets: shortLived)
        let expiring = ada.ticket(tickets: shortLived)
        try await Task.sleep(for: .milliseconds(60))
        #expect(try await ada.denial(expiring, handouts: handouts) == "ticket_expired")
        // A ticket for bob's instance, shown by ada's toolbox: refused without using it up, so bob's toolbox still redeems it.
        let bobsTicket = bob.ticket()
        #expect(try await ada.denial(bobsTicket) == "instance_not_on_toolbox")
        #expect(try await bed.plane.handouts.redeem(bobsTicket, by: bob.toolbox).credentialID == bob.credential.id)
        #expect(try await ada.denial(ada.ticket(capability: "nope")) == "capability_unknown")
        #expect(try await ada.denial(ada.ticket(capability: "gmail_read")) == "capability_denied", "no permission: denied")
        _ = try await bed.plane.toolbelts.setPermission(itemID: ada.item.id, capability: "gmail_send", isAllowed: false, by: bed.ada)
        #expect(try await ada.denial(ada.ticket()) == "capability_denied", "a denying permission")
        _ = try await bed.plane.toolbelts.setPermission(itemID: ada.item.id, capability: "gmail_send", isAllowed: true, by: bed.ada)

        // The credential's status, then the toolbelt item, then access: each takes effect on the very next call.
        _ = try await bed.plane.credentials.setStatus(ada.credential.id, .requiresReauth, by: bed.ada)
        #expect(try await ada.denial(ada.ticket()) == "credential_requires_reauth")
        _ = try await bed.plane.credentials.setStatus(ada.credential.id, .revoked, by: bed.ada)
        #expect(try await ada.denial(ada.ticket()) == "credential_revoked")
        try await bed.plane.credentials.delete(ada.credential.id, by: bed.ada)
        #expect(try await ada.denial(ada.ticket()) == "credential_missing")
        _ = try await bed.plane.toolbelts.setItemActive(ada.item.id, false, by: bed.ada)
        #expect(try await ada.denial(ada.ticket()) == "toolbelt_item_inactive")
        try await bed.plane.toolbelts.deleteItem(ada.item.id, by: bed.ada)
        #expect(try await ada.denial(ada.ticket()) == "toolbelt_item_missing")
        _ = try await bed.plane.toolbelts.revokeAccess(agentID: ada.world.agent.id, toolboxID: ada.world.toolbox.id, by: bed.ada)
        #expect(try await ada.denial(ada.ticket()) == "toolbox_access_denied")
        #expect(try await bed.plane.audit.verify(bed.database).isIntact)
    }
}

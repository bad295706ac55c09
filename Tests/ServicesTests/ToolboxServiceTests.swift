import Foundation
import Services
import Storage
import TestSupport
import ToolboxProtocol
import Testing

/// Toolboxes: owned by their creator, local ones active at once, deprovisioned through the state machine.
struct ToolboxServiceTests {
    @Test func aLocalToolboxIsActiveAtOnceWithAToolboxTokenThatIsNeverShown() async throws {
        let bed = try await CatalogTestBed.make()
        let toolbox = try await bed.toolbox("home", owner: bed.ada)
        #expect(toolbox.status == .active && toolbox.reachability == .unknown && toolbox.provider == .local)
        #expect(toolbox.userID == (try bed.ada.requireUser()).id)
        let tokenID = try #require(toolbox.dtmaBearerTokenID)
        let token = try #require(try await bed.database.fetchAPIToken(id: tokenID))
        #expect(token.kind == .toolbox && token.accountToolEnvironmentID == toolbox.id && token.revokedAt == nil)
        #expect(try await bed.database.fetchAccountToolEnvironment(id: toolbox.id) == toolbox)
        #expect(try await bed.audit(of: toolbox.id).map(\.action) == ["toolbox.create"])
    }

    @Test func digitalOceanNeedsARegionASizeAndATokenAndUnknownProvidersAreMalformed() async throws {
        let bed = try await CatalogTestBed.make()
        let unplaced = await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.create(name: "cloud", provider: "digitalocean", by: bed.ada) }
        #expect(unplaced?.code == .invalidRequest && unplaced?.message.contains("needs a region and a size") == true)
        let homeless = await CatalogTestBed.failure {
            _ = try await bed.plane.toolboxes.create(name: "cloud", provider: "digitalocean", region: "nyc3", size: "s-1vcpu-1gb", by: bed.ada)
        }
        #expect(homeless?.code == .unprocessable && homeless?.reason == "public_url_missing" && homeless?.message.contains("--public-url") == true)
        // Plain HTTP to droplets is refused, except when DigitalOcean is a stand-in on this machine.
        let plain = ControlPlane(backend: bed.test.backend, configuration: .init(publicURL: "http://agentbox.example.com:8420"))
        let insecure = await CatalogTestBed.failure {
            _ = try await plain.toolboxes.create(name: "cloud", provider: "digitalocean", region: "nyc3", size: "s-1vcpu-1gb", by: bed.ada)
        }
        #expect(insecure?.reason == "public_url_insecure")
        let secure = ControlPlane(backend: bed.test.backend, configuration: .init(publicURL: "https://agentbox.example.com:8420"))
        let tokenless = await CatalogTestBed.failure {
            _ = try await secure.toolboxes.create(name: "cloud", provider: "digitalocean", region: "nyc3", size: "s-1vcpu-1gb", by: bed.ada)
        }
        #expect(tokenless?.code == .unavailable && tokenless?.reason == "digitalocean_token_missing")
        #expect(tokenless?.message.contains("agentbox digitalocean set-token") == true)
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.create(name: "x", provider: "aws", by: bed.ada) }?.code == .invalidRequest)
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.create(name: " ", provider: "local", by: bed.ada) }?.code == .invalidRequest)
        #expect(try await bed.database.fetchAccountToolEnvironments(userID: try bed.ada.requireUser().id).isEmpty)
    }

    @Test func agentsCannotManageToolboxes() async throws {
        let bed = try await CatalogTestBed.make()
        let toolbox = try await bed.toolbox(owner: bed.ada)
        let agent = Principal.agent(try await bed.database.insert(Agent(userID: try bed.ada.requireUser().id, name: "helper")))
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.create(name: "x", provider: "local", by: agent) }?.code == .forbidden)
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.get(toolbox.id, by: agent) }?.code == .forbidden)
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.deprovision(toolbox.id, cascade: true, by: agent) }?.code == .forbidden)
    }

    @Test func usersSeeAndChangeOnlyTheirOwnToolboxesWhileAdminsSeeAll() async throws {
        let bed = try await CatalogTestBed.make()
        let mine = try await bed.toolbox("mine", owner: bed.ada)
        let theirs = try await bed.toolbox("theirs", owner: bed.bob)
        let page = PageRequest()
        #expect(try await bed.plane.toolboxes.list(userID: nil, status: nil, provider: nil, name: nil, page: page, by: bed.ada).items == [mine])
        #expect(try await bed.plane.toolboxes.list(userID: theirs.userID, status: nil, provider: nil, name: nil, page: page, by: bed.ada).items.isEmpty)
        #expect(try await bed.plane.toolboxes.list(userID: nil, status: nil, provider: nil, name: nil, page: page, by: bed.admin).total == 2)
        #expect(try await bed.plane.toolboxes.list(userID: theirs.userID, status: nil, provider: nil, name: nil, page: page, by: bed.admin).items == [theirs])

        let hidden = await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.get(theirs.id, by: bed.ada) }
        let missing = await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.get(UUID(), by: bed.ada) }
        #expect(hidden?.code == .notFound && missing?.code == .notFound)
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.update(theirs.id, .init(name: "stolen"), by: bed.ada) }?.code == .notFound)
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.deprovision(theirs.id, cascade: true, by: bed.ada) }?.code == .notFound)
        #expect(try await bed.database.fetchAccountToolEnvironment(id: theirs.id) == theirs)
        #expect(try await bed.plane.toolboxes.get(theirs.id, by: bed.admin) == theirs)
    }

    @Test func listsFilterByStatusProviderAndName() async throws {
        let bed = try await CatalogTestBed.make()
        let first = try await bed.toolbox("first", owner: bed.ada)
        let second = try await bed.toolbox("second", owner: bed.ada)
        _ = try await bed.plane.toolboxes.deprovision(second.id, cascade: false, by: bed.ada)
        let page = PageRequest()
        let list = { (status: ToolboxStatus?, provider: ToolboxProvider?, name: String?) in
            try await bed.plane.toolboxes.list(userID: nil, status: status, provider: provider, name: name, page: page, by: bed.ada).items.map(\.id)
        }
        #expect(try await list(nil, nil, nil) == [first.id, second.id])
        #expect(try await list(.active, nil, nil) == [first.id])
        #expect(try await list(.archived, nil, nil) == [second.id])
        #expect(try await list(nil, .digitalocean, nil).isEmpty)
        #expect(try await list(nil, .local, "second") == [second.id])
    }

    @Test func renamingChangesTheNameAndIsAudited() async throws {
        let bed = try await CatalogTestBed.make()
        let toolbox = try await bed.toolbox("home", owner: bed.ada)
        let renamed = try await bed.plane.toolboxes.update(toolbox.id, .init(name: "  lab  "), by: bed.ada)
        #expect(renamed.name == "lab" && renamed.status == toolbox.status && renamed.dtmaBearerTokenID == toolbox.dtmaBearerTokenID)
        #expect(try await bed.database.fetchAccountToolEnvironment(id: toolbox.id)?.name == "lab")
        #expect(try await bed.audit(of: toolbox.id).map(\.action) == ["toolbox.create", "toolbox.update"])
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.update(toolbox.id, .init(name: ""), by: bed.ada) }?.code == .invalidRequest)
    }

    @Test func deprovisioningIsRefusedNamingTheInstancesUnlessCascaded() async throws {
        let bed = try await CatalogTestBed.make()
        let tool = try await bed.tool()
        let toolbox = try await bed.toolbox(owner: bed.ada)
        let one = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "one", config: nil, by: bed.ada)
        let two = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "two", config: nil, by: bed.ada)
        let refused = await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.deprovision(toolbox.id, cascade: false, by: bed.ada) }
        #expect(refused?.code == .conflict)
        for instance in [one, two] {
            #expect(refused?.message.contains("\(instance.instanceNameOnToolbox) (\(instance.id.uuidString.lowercased()))") == true)
        }
        #expect(refused?.message.contains("cascade=true") == true)
        #expect(try await bed.database.fetchAccountToolEnvironment(id: toolbox.id) == toolbox)
        #expect(try await bed.database.fetchAccountToolInstances(accountToolEnvironmentID: toolbox.id).count == 2)
    }

    @Test func aCascadeRemovesInstancesWithTheirToolbeltsThenArchivesAndRevokesTheToken() async throws {
        let bed = try await CatalogTestBed.make()
        let tool = try await bed.tool()
        let toolbox = try await bed.toolbox(owner: bed.ada)
        let owner = try bed.ada.requireUser()
        let waiting = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "waiting", config: nil, by: bed.ada)
        var running = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "running", config: nil, by: bed.ada)
        running.statusOnToolbox = .running
        try await bed.database.update(running)
        let agent = try await bed.database.insert(Agent(userID: owner.id, name: "helper"))
        _ = try await bed.database.insert(AgentToolboxAccess(agentID: agent.id, accountToolEnvironmentID: toolbox.id))
        let item = try await bed.database.insert(AgentToolbeltItem(agentID: agent.id, accountToolInstanceID: running.id))
        let permission = try await bed.database.insert(AgentToolCapabilityPermission(agentToolbeltItemID: item.id, capabilityName: "gmail_send", isAllowed: true))
        let credential = try await bed.test.credentials.store(Array("secret".utf8), type: "api_key", accountIdentifier: "a***@x.com", forItem: item.id)

        // The running instance has a container: the toolbox waits, deprovisioning, for its DTMA to remove it.
        let leaving = try await bed.plane.toolboxes.deprovision(toolbox.id, cascade: true, by: bed.ada)
        #expect(leaving.status == .deprovisioning)
        #expect(try await bed.database.fetchAccountToolInstance(id: waiting.id) == nil)
        #expect(try await bed.database.fetchAccountToolInstance(id: running.id)?.statusOnToolbox == .pendingDelete)
        let desired = try await bed.plane.toolboxControl.desiredState(toolbox.id)
        #expect(desired.instances.map(\.desired) == [.absent])
        #expect(try await bed.plane.toolboxControl.activeLocalToolboxIDs().contains(toolbox.id))
        // An unreachable engine changes nothing; the DTMA's report that the container is gone finishes the job.
        try await bed.plane.toolboxControl.ingest(
            Heartbeat(toolboxID: toolbox.id, agentVersion: "t", sentAt: Date(), health: HostHealth(dockerReachable: false), instances: []))
        #expect(try await bed.database.fetchAccountToolEnvironment(id: toolbox.id)?.status == .deprovisioning)
        try await bed.plane.toolboxControl.ingest(
            Heartbeat(
                toolboxID: toolbox.id, agentVersion: "t", sentAt: Date(), health: HostHealth(dockerReachable: true),
                instances: [InstanceReport(instanceID: running.id, state: .absent)]))
        let archived = try #require(try await bed.database.fetchAccountToolEnvironment(id: toolbox.id))
        #expect(archived.status == .archived)
        #expect(try await !bed.plane.toolboxControl.activeLocalToolboxIDs().contains(toolbox.id))
        #expect(try await bed.database.fetchAccountToolInstances(accountToolEnvironmentID: toolbox.id).isEmpty)
        #expect(try await bed.database.fetchAgentToolbeltItem(id: item.id) == nil)
        #expect(try await bed.database.fetchAgentToolCapabilityPermission(id: permission.id) == nil)
        #expect(try await bed.database.fetchAgentToolCredential(id: credential.id) == nil)
        #expect(try bed.database.foreignKeyViolations().isEmpty)
        let tokenID = try #require(toolbox.dtmaBearerTokenID)
        let token = try #require(try await bed.database.fetchAPIToken(id: tokenID))
        #expect(token.revokedAt != nil)

        let history = try await bed.audit(of: toolbox.id)
        #expect(history.map(\.action).filter { !["toolbox.reachability", "toolbox.agent_version"].contains($0) } == [
            "toolbox.create", "toolbox.status", "toolbox.status", "toolbox.deprovision", "toolbox.status",
        ])
        #expect(history.filter { $0.action == "toolbox.status" }.map(\.detailJSON) == [
            #"{"from":"active","name":"home","to":"pending_deprovision"}"#,
            #"{"from":"pending_deprovision","name":"home","to":"deprovisioning"}"#,
            #"{"from":"deprovisioning","name":"home","to":"archived"}"#,
        ])
        for instance in [waiting, running] {
            #expect(try await bed.audit(of: instance.id).map(\.action).suffix(3) == ["instance.status", "instance.status", "instance.delete"])
        }
        #expect(try await bed.auditActions().contains("token.revoke"))
    }

    @Test func anArchivedToolboxStaysReadableButTakesNoInstancesAndCannotBeDeprovisionedAgain() async throws {
        let bed = try await CatalogTestBed.make()
        let tool = try await bed.tool()
        let toolbox = try await bed.toolbox(owner: bed.ada)
        _ = try await bed.plane.toolboxes.deprovision(toolbox.id, cascade: false, by: bed.ada)
        #expect(try await bed.plane.toolboxes.get(toolbox.id, by: bed.ada).status == .archived)
        let deploy = await CatalogTestBed.failure {
            _ = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "late", config: nil, by: bed.ada)
        }
        #expect(deploy?.code == .invalidState)
        #expect(deploy?.message.contains("archived") == true)
        let again = await CatalogTestBed.failure { _ = try await bed.plane.toolboxes.deprovision(toolbox.id, cascade: true, by: bed.ada) }
        #expect(again?.code == .invalidState)
        #expect(again?.message == "a toolbox cannot go from archived to pending_deprovision")
    }
}

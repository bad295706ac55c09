import Foundation
import JSONSchema
@testable import Services
import Storage
import TestSupport
import Testing

/// Tool instances: desired state recorded as pending_deploy, config checked against the tool's schema, statuses
/// changed only as the state machine allows, visible to the toolbox's owner.
struct InstanceServiceTests {
    /// A test bed with a tool and a toolbox of ada's.
    private func setUp() async throws -> (CatalogTestBed, ToolCatalogEntry, AccountToolEnvironment) {
        let bed = try await CatalogTestBed.make()
        return (bed, try await bed.tool(), try await bed.toolbox(owner: bed.ada))
    }

    /// Sets a status directly, as the toolbox's DTMA will.
    private func force(_ instance: AccountToolInstance, to status: InstanceStatus, in bed: CatalogTestBed) async throws -> AccountToolInstance {
        var instance = instance
        instance.statusOnToolbox = status
        try await bed.database.update(instance)
        return instance
    }

    @Test func creatingRecordsTheDesiredInstanceWithTheCatalogVersionAndPort() async throws {
        let (bed, tool, toolbox) = try await setUp()
        let instance = try await bed.plane.instances.create(
            toolboxID: toolbox.id, toolID: tool.id, name: "mail-1", config: ["workers": 2, "label": "inbox"], by: bed.ada)
        #expect(instance.statusOnToolbox == .pendingDeploy)
        #expect(instance.version == "1.0.0" && instance.toolCatalogID == tool.id && instance.accountToolEnvironmentID == toolbox.id)
        let mapping = try JSONSerialization.jsonObject(with: Data((instance.portMappingJSON ?? "").utf8)) as? [String: Int]
        #expect(mapping?["container_port"] == 8080)
        #expect(mapping.flatMap { $0["host_port"] }.map(PortLeases.defaultRange.contains) == true, "a host port is leased at deploy")
        #expect(instance.baseConfigOverrideJSON == #"{"label":"inbox","workers":2}"#)
        #expect(try await bed.database.fetchAccountToolInstance(id: instance.id) == instance)
        #expect(try await bed.audit(of: instance.id).map(\.action) == ["instance.create"])

        // The version is copied at deploy time: a later catalog version does not change it.
        _ = try await bed.plane.catalog.update(tool.id, .init(version: "2.0.0"), by: bed.admin)
        #expect(try await bed.plane.instances.get(instance.id, by: bed.ada).version == "1.0.0")
        let later = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "mail-2", config: nil, by: bed.ada)
        #expect(later.version == "2.0.0" && later.baseConfigOverrideJSON == nil)
        #expect(later.portMappingJSON != instance.portMappingJSON, "two instances never share a host port")
    }

    /// Found by the secret-hygiene drill: a cascade's instance whose removal failed (`error`) stuck its droplet's
    /// deprovisioning for good, since `error` may not go straight to `deleting`.
    @Test func anInstanceInAnyStatusIsRemovedWhenItsToolboxGoes() async throws {
        let (bed, tool, toolbox) = try await setUp()
        for status in [InstanceStatus.error, .running, .stopped, .pendingDeploy, .pendingDelete, .deleting] {
            let instance = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "web-\(status.rawValue)", config: nil, by: bed.ada)
            let current = try await force(instance, to: status, in: bed)
            let audit = bed.plane.audit
            try await bed.database.transaction { tx in try InstanceService.remove(current, by: .toolbox(toolbox), audit: audit, in: tx) }
            #expect(try await bed.database.fetchAccountToolInstance(id: instance.id) == nil, "an instance in \(status.rawValue) was not removed")
        }
    }

    @Test func configIsCheckedAgainstTheToolsSchemaAndViolationsAreListedByPointer() async throws {
        let (bed, tool, toolbox) = try await setUp()
        let error = await CatalogTestBed.failure {
            _ = try await bed.plane.instances.create(
                toolboxID: toolbox.id, toolID: tool.id, name: "bad", config: ["workers": 99, "label": "far too long a label", "extra": true],
                by: bed.ada)
        }
        #expect(error?.code == .unprocessable)
        for part in ["/workers", "maximum", "/label", "maxLength", "additionalProperties"] {
            #expect(error?.message.contains(part) == true, "\(part) in \(error?.message ?? "")")
        }
        #expect(error?.message.contains("far too long") == false, "a violation never quotes the value")
        #expect(await CatalogTestBed.failure {
            _ = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "bad", config: ["workers", 2], by: bed.ada)
        }?.code == .invalidRequest)

        // No config is checked as {}: a tool whose schema requires a setting needs it.
        let strict = try await bed.tool("strict", config: ["type": "object", "required": ["region"], "properties": ["region": ["type": "string"]]])
        let missing = await CatalogTestBed.failure {
            _ = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: strict.id, name: "strict", config: nil, by: bed.ada)
        }
        #expect(missing?.code == .unprocessable)
        #expect(missing?.message.contains("required") == true)
        _ = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: strict.id, name: "strict", config: ["region": "eu"], by: bed.ada)
        #expect(try await bed.database.fetchAccountToolInstances(accountToolEnvironmentID: toolbox.id).map(\.instanceNameOnToolbox) == ["strict"])
    }

    @Test func namesFollowTheContainerNameRulesAndAreUniquePerToolbox() async throws {
        let (bed, tool, toolbox) = try await setUp()
        for name in ["", "Mail", "-mail", "mail box", "mail/1", "_mail", String(repeating: "a", count: 64), "mäil"] {
            let error = await CatalogTestBed.failure {
                _ = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: name, config: nil, by: bed.ada)
            }
            #expect(error?.code == .invalidRequest, "\(name)")
        }
        let first = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "mail.1_a-b", config: nil, by: bed.ada)
        let clash = await CatalogTestBed.failure {
            _ = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "mail.1_a-b", config: nil, by: bed.ada)
        }
        #expect(clash?.code == .conflict)
        #expect(clash?.message.contains(first.id.uuidString.lowercased()) == true)
        // Another toolbox may use the same name.
        let other = try await bed.toolbox("other", owner: bed.ada)
        _ = try await bed.plane.instances.create(toolboxID: other.id, toolID: tool.id, name: "mail.1_a-b", config: nil, by: bed.ada)
        // Renaming onto a sibling's name clashes too.
        let second = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "second", config: nil, by: bed.ada)
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.instances.update(second.id, .init(name: "mail.1_a-b"), by: bed.ada) }?.code == .conflict)
    }

    @Test func disabledOrUnknownToolsCannotBeDeployed() async throws {
        let (bed, _, toolbox) = try await setUp()
        let off = try await bed.tool("slack", enabled: false)
        for principal in [bed.ada, bed.admin] {
            let error = await CatalogTestBed.failure {
                _ = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: off.id, name: "slack", config: nil, by: principal)
            }
            #expect(error?.code == .unprocessable)
        }
        #expect(await CatalogTestBed.failure {
            _ = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: UUID(), name: "ghost", config: nil, by: bed.ada)
        }?.code == .unprocessable)
        #expect(try await bed.database.fetchAccountToolInstances(accountToolEnvironmentID: toolbox.id).isEmpty)
    }

    @Test func onlyTheToolboxOwnerAndAdminsSeeOrChangeAnInstance() async throws {
        let (bed, tool, toolbox) = try await setUp()
        let instance = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "mail", config: nil, by: bed.ada)
        let plane = bed.plane
        let attempts: [() async throws -> Void] = [
            { _ = try await plane.instances.get(instance.id, by: bed.bob) },
            { _ = try await plane.instances.list(toolboxID: toolbox.id, status: nil, toolID: nil, name: nil, page: PageRequest(), by: bed.bob) },
            { _ = try await plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "intruder", config: nil, by: bed.bob) },
            { _ = try await plane.instances.update(instance.id, .init(name: "stolen"), by: bed.bob) },
            { _ = try await plane.instances.request(.start, instance.id, by: bed.bob) },
            { _ = try await plane.instances.request(.stop, instance.id, by: bed.bob) },
            { _ = try await plane.instances.request(.restart, instance.id, by: bed.bob) },
            { _ = try await plane.instances.delete(instance.id, by: bed.bob) },
        ]
        for attempt in attempts {
            let error = await CatalogTestBed.failure(attempt)
            #expect(error?.code == .notFound)
        }
        #expect(await CatalogTestBed.failure { _ = try await plane.instances.get(UUID(), by: bed.ada) }?.code == .notFound)
        #expect(try await bed.database.fetchAccountToolInstances(accountToolEnvironmentID: toolbox.id) == [instance])
        #expect(try await plane.instances.get(instance.id, by: bed.admin) == instance)
        #expect(try await plane.instances.list(toolboxID: toolbox.id, status: nil, toolID: nil, name: nil, page: PageRequest(), by: bed.admin).items == [instance])
    }

    @Test func listsFilterByStatusToolAndName() async throws {
        let (bed, tool, toolbox) = try await setUp()
        let other = try await bed.tool("slack")
        let a = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "a", config: nil, by: bed.ada)
        let b = try await force(
            try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: other.id, name: "b", config: nil, by: bed.ada), to: .running, in: bed)
        let list = { (status: InstanceStatus?, toolID: UUID?, name: String?) in
            try await bed.plane.instances.list(toolboxID: toolbox.id, status: status, toolID: toolID, name: name, page: PageRequest(), by: bed.ada).items.map(\.id)
        }
        #expect(try await list(nil, nil, nil) == [a.id, b.id])
        #expect(try await list(.running, nil, nil) == [b.id])
        #expect(try await list(nil, tool.id, nil) == [a.id])
        #expect(try await list(nil, nil, "b") == [b.id])
        #expect(try await list(.stopped, nil, nil).isEmpty)
    }

    @Test func startStopAndRestartFollowTheStateMachine() async throws {
        let (bed, tool, toolbox) = try await setUp()
        let created = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "mail", config: nil, by: bed.ada)
        let stop = await CatalogTestBed.failure { _ = try await bed.plane.instances.request(.stop, created.id, by: bed.ada) }
        #expect(stop?.code == .invalidState)
        #expect(stop?.message.contains("from pending_deploy to stopped") == true)
        #expect(await CatalogTestBed.failure { _ = try await bed.plane.instances.request(.start, created.id, by: bed.ada) }?.code == .invalidState)
        #expect(try await bed.database.fetchAccountToolInstance(id: created.id) == created)

        _ = try await force(created, to: .running, in: bed)
        #expect(try await bed.plane.instances.request(.stop, created.id, by: bed.ada).statusOnToolbox == .stopped)
        #expect(try await bed.plane.instances.request(.start, created.id, by: bed.ada).statusOnToolbox == .running)
        #expect(try await bed.plane.instances.request(.restart, created.id, by: bed.ada).statusOnToolbox == .running)
        _ = try await bed.plane.instances.request(.stop, created.id, by: bed.ada)
        #expect(try await bed.plane.instances.request(.restart, created.id, by: bed.ada).statusOnToolbox == .running)
        let failed = try await force(try await bed.plane.instances.get(created.id, by: bed.ada), to: .error, in: bed)
        #expect(try await bed.plane.instances.request(.start, failed.id, by: bed.ada).statusOnToolbox == .pendingDeploy)
        _ = try await force(failed, to: .deleting, in: bed)
        let late = await CatalogTestBed.failure { _ = try await bed.plane.instances.request(.start, created.id, by: bed.ada) }
        #expect(late?.message.hasPrefix("an instance cannot go from deleting to running") == true)

        let actions = try await bed.audit(of: created.id).map(\.action)
        #expect(actions == [
            "instance.create", "instance.status", "instance.stop", "instance.status", "instance.start", "instance.restart",
            "instance.status", "instance.stop", "instance.status", "instance.restart", "instance.status", "instance.start",
        ])
    }

    @Test func deletingAnInstanceWithoutAContainerRemovesItWithItsToolbelt() async throws {
        let (bed, tool, toolbox) = try await setUp()
        let agent = try await bed.database.insert(Agent(userID: try bed.ada.requireUser().id, name: "helper"))
        for status in [InstanceStatus.pendingDeploy, .stopped, .error] {
            let instance = try await force(
                try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "mail-\(status.rawValue)", config: nil, by: bed.ada),
                to: status, in: bed)
            let item = try await bed.database.insert(AgentToolbeltItem(agentID: agent.id, accountToolInstanceID: instance.id))
            let permission = try await bed.database.insert(AgentToolCapabilityPermission(agentToolbeltItemID: item.id, capabilityName: "gmail_read", isAllowed: false))
            let credential = try await bed.test.credentials.store(Array("k".utf8), type: "api_key", accountIdentifier: nil, forItem: item.id)

            guard case .removed = try await bed.plane.instances.delete(instance.id, by: bed.ada) else {
                Issue.record("a \(status) instance has no container: it is removed at once")
                continue
            }
            #expect(try await bed.database.fetchAccountToolInstance(id: instance.id) == nil)
            #expect(try await bed.database.fetchAgentToolbeltItem(id: item.id) == nil)
            #expect(try await bed.database.fetchAgentToolCapabilityPermission(id: permission.id) == nil)
            #expect(try await bed.database.fetchAgentToolCredential(id: credential.id) == nil)
            let history = try await bed.audit(of: instance.id)
            #expect(history.map(\.action).suffix(3) == ["instance.status", "instance.status", "instance.delete"])
            #expect(history.suffix(3).first?.detailJSON.contains(#""from":"\#(status.rawValue)""#) == true)
            #expect(await CatalogTestBed.failure { _ = try await bed.plane.instances.get(instance.id, by: bed.ada) }?.code == .notFound)
        }
        #expect(try bed.database.foreignKeyViolations().isEmpty)
    }

    @Test func deletingARunningInstanceMarksItForItsToolboxToRemove() async throws {
        let (bed, tool, toolbox) = try await setUp()
        for status in [InstanceStatus.running, .deploying] {
            let instance = try await force(
                try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: status.rawValue, config: nil, by: bed.ada),
                to: status, in: bed)
            guard case .pending(let pending) = try await bed.plane.instances.delete(instance.id, by: bed.ada) else {
                Issue.record("a \(status) instance has a container: its toolbox removes it first")
                continue
            }
            #expect(pending.statusOnToolbox == .pendingDelete)
            #expect(try await bed.database.fetchAccountToolInstance(id: instance.id) == pending)
            let again = await CatalogTestBed.failure { _ = try await bed.plane.instances.delete(instance.id, by: bed.ada) }
            #expect(again?.code == .invalidState)
            #expect(again?.message == "an instance cannot go from pending_delete to pending_delete")
            #expect(await CatalogTestBed.failure { _ = try await bed.plane.instances.update(instance.id, .init(name: "renamed"), by: bed.ada) }?.code == .invalidState)
        }
    }

    @Test func anUpdateRenamesAndReplacesOrRemovesTheConfig() async throws {
        let (bed, tool, toolbox) = try await setUp()
        let instance = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: tool.id, name: "mail", config: ["workers": 1], by: bed.ada)
        let renamed = try await bed.plane.instances.update(instance.id, .init(name: "post", config: .some(["workers": 4])), by: bed.ada)
        #expect(renamed.instanceNameOnToolbox == "post" && renamed.baseConfigOverrideJSON == #"{"workers":4}"#)
        let invalid = await CatalogTestBed.failure { _ = try await bed.plane.instances.update(instance.id, .init(config: .some(["workers": 0])), by: bed.ada) }
        #expect(invalid?.code == .unprocessable)
        #expect(invalid?.message.contains("/workers") == true)
        let cleared = try await bed.plane.instances.update(instance.id, .init(config: .some(nil)), by: bed.ada)
        #expect(cleared.baseConfigOverrideJSON == nil && cleared.instanceNameOnToolbox == "post")
        #expect(try await bed.database.fetchAccountToolInstance(id: instance.id) == cleared)
        #expect(try await bed.audit(of: instance.id).map(\.action) == ["instance.create", "instance.update", "instance.update"])
    }
}

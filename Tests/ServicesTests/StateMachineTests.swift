import Services
import Storage
import Testing

/// The toolbox and instance state machines: every allowed change passes, every other one is refused naming both states.
struct StateMachineTests {
    /// The toolbox changes the design names (SCHEMA.md, ARCHITECTURE.md), each of which must stay allowed.
    static let toolboxChanges: Set<[ToolboxStatus]> = [
        [.pendingProvision, .provisioning], [.pendingProvision, .error], [.pendingProvision, .pendingDeprovision],
        [.provisioning, .active], [.provisioning, .error], [.provisioning, .pendingDeprovision],
        [.active, .pendingDeprovision], [.active, .error],
        [.error, .provisioning], [.error, .pendingDeprovision],
        [.pendingDeprovision, .deprovisioning],
        [.deprovisioning, .archived], [.deprovisioning, .error],
    ]

    /// The instance changes the design names.
    static let instanceChanges: Set<[InstanceStatus]> = [
        [.pendingDeploy, .deploying], [.deploying, .running], [.deploying, .error],
        [.running, .stopped], [.running, .error], [.stopped, .running], [.stopped, .error],
        [.error, .pendingDeploy],
        [.pendingDeploy, .pendingDelete], [.deploying, .pendingDelete], [.running, .pendingDelete], [.stopped, .pendingDelete],
        [.error, .pendingDelete],
        [.pendingDelete, .deleting], [.deleting, .error],
    ]

    @Test func everyToolboxChangeOfTheDesignIsAllowedAndNoOther() throws {
        for from in ToolboxStatus.allCases {
            for to in ToolboxStatus.allCases {
                if Self.toolboxChanges.contains([from, to]) {
                    try ToolboxStatusMachine.transition(from: from, to: to)
                    #expect(ToolboxStatusMachine.allows(from: from, to: to))
                } else {
                    let error = #expect(throws: ServiceError.self, "\(from) -> \(to)") { try ToolboxStatusMachine.transition(from: from, to: to) }
                    #expect(error?.code == .invalidState)
                    #expect(error?.message == "a toolbox cannot go from \(from.rawValue) to \(to.rawValue)")
                }
            }
        }
    }

    @Test func everyInstanceChangeOfTheDesignIsAllowedAndNoOther() throws {
        for from in InstanceStatus.allCases {
            for to in InstanceStatus.allCases {
                if Self.instanceChanges.contains([from, to]) {
                    try InstanceStatusMachine.transition(from: from, to: to)
                    #expect(InstanceStatusMachine.allows(from: from, to: to))
                } else {
                    let error = #expect(throws: ServiceError.self, "\(from) -> \(to)") { try InstanceStatusMachine.transition(from: from, to: to) }
                    #expect(error?.code == .invalidState)
                    #expect(error?.message == "an instance cannot go from \(from.rawValue) to \(to.rawValue)")
                }
            }
        }
    }

    @Test func illegalChangesNameBothStates() {
        let samples: [(InstanceStatus, InstanceStatus)] = [(.deleting, .running), (.pendingDelete, .running), (.stopped, .deploying), (.running, .pendingDeploy)]
        for (from, to) in samples {
            let error = #expect(throws: ServiceError.self) { try InstanceStatusMachine.transition(from: from, to: to) }
            #expect(error?.message.contains(from.rawValue) == true && error?.message.contains(to.rawValue) == true)
        }
        #expect(throws: ServiceError.self) { try ToolboxStatusMachine.transition(from: .archived, to: .active) }
        #expect(throws: ServiceError.self) { try ToolboxStatusMachine.transition(from: .active, to: .archived) }
    }

    @Test func archivedIsFinalAndDeprovisioningToolboxesTakeNoInstances() {
        #expect(ToolboxStatusMachine.transitions[.archived]?.isEmpty == true)
        for status in ToolboxStatus.allCases {
            #expect(ToolboxStatusMachine.acceptsInstances(status) == ![.pendingDeprovision, .deprovisioning, .archived].contains(status))
        }
    }

    @Test func onlyADeletingInstanceMayBeRemoved() throws {
        for status in InstanceStatus.allCases where status != .deleting {
            #expect(!InstanceStatusMachine.allowsRemoval(from: status))
            let error = #expect(throws: ServiceError.self) { try InstanceStatusMachine.remove(from: status) }
            #expect(error?.code == .invalidState)
            #expect(error?.message.contains(status.rawValue) == true)
        }
        try InstanceStatusMachine.remove(from: .deleting)
    }

    @Test func startStopAndRestartMapToAllowedChangesOrAreRefusedNamingBothStates() throws {
        let expected: [InstanceStatusMachine.Request: [InstanceStatus: InstanceStatus?]] = [
            .start: [.stopped: .running, .error: .pendingDeploy],
            .stop: [.running: .stopped],
            .restart: [.running: InstanceStatus?.none, .stopped: .running],
        ]
        for request in InstanceStatusMachine.Request.allCases {
            for from in InstanceStatus.allCases {
                if let target = expected[request]?[from] {
                    let actual = try InstanceStatusMachine.target(of: request, from: from)
                    #expect(actual == target, "\(request) from \(from)")
                    if let actual { #expect(InstanceStatusMachine.allows(from: from, to: actual)) }
                } else {
                    let error = #expect(throws: ServiceError.self, "\(request) from \(from)") {
                        try InstanceStatusMachine.target(of: request, from: from)
                    }
                    #expect(error?.code == .invalidState)
                    let goal = request == .stop ? "stopped" : "running"
                    #expect(error?.message.hasPrefix("an instance cannot go from \(from.rawValue) to \(goal)") == true, "\(error?.message ?? "")")
                }
            }
        }
    }
}

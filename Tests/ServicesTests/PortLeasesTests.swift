import Foundation
import Services
import Storage
import TestSupport
import Testing

/// Host ports for tool instances: unique per engine, free on the host, freed with the instance.
struct PortLeasesTests {
    /// A seeded chain plus `count` more instances on its toolbox.
    private func instances(_ test: TestBackend, count: Int) async throws -> [UUID] {
        let chain = try await Fixtures.seedChain(test.database)
        var ids = [chain.instanceID]
        for index in 1..<count {
            let instance = try await test.database.insert(
                AccountToolInstance(
                    accountToolEnvironmentID: chain.toolboxID, toolCatalogID: chain.toolID, instanceNameOnToolbox: "extra-\(index)",
                    statusOnToolbox: .pendingDeploy, version: "1.0.0"))
            ids.append(instance.id)
        }
        return ids
    }

    @Test func instancesGetDistinctPortsAndKeepTheirOwn() async throws {
        let test = try await TestBackend.make()
        let ids = try await instances(test, count: 3)
        let leases = PortLeases(range: 40100...40199, isFreeOnHost: { _ in true })
        let ports = try await test.database.transaction { tx in try ids.map { try leases.lease(for: $0, engine: "local", in: tx) } }
        #expect(ports == [40100, 40101, 40102])
        let again = try await test.database.transaction { tx in try leases.lease(for: ids[1], engine: "local", in: tx) }
        #expect(again == 40101, "an instance keeps the port it has")
        let otherEngine = try await test.database.transaction { tx in
            try tx.releasePortLease(instanceID: ids[2])
            return try leases.lease(for: ids[2], engine: "droplet-1", in: tx)
        }
        #expect(otherEngine == 40100, "another engine has its own ports")
    }

    @Test func aPortInUseOnTheHostIsSkipped() async throws {
        let test = try await TestBackend.make()
        let ids = try await instances(test, count: 1)
        // Hold a real listening socket on the first port of a range.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        #expect(bound)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(holder, $0, &length) } }
        #expect(listen(holder, 1) == 0)
        let taken = Int(UInt16(bigEndian: address.sin_port))
        #expect(!PortLeases.canBind(taken))

        let leases = PortLeases(range: taken...min(taken + 5, 65535))
        let port = try await test.database.transaction { tx in try leases.lease(for: ids[0], engine: "local", in: tx) }
        #expect(port != taken)
    }

    @Test func anExhaustedRangeIsAConflictNamingTheRange() async throws {
        let test = try await TestBackend.make()
        let ids = try await instances(test, count: 2)
        let leases = PortLeases(range: 40200...40200, isFreeOnHost: { _ in true })
        _ = try await test.database.transaction { tx in try leases.lease(for: ids[0], engine: "local", in: tx) }
        let error = await #expect(throws: ServiceError.self) {
            try await test.database.transaction { tx in try leases.lease(for: ids[1], engine: "local", in: tx) }
        }
        #expect(error?.code == .conflict)
        #expect(error?.message.contains("40200-40200") == true)
    }

    @Test func deletingAnInstanceFreesItsPort() async throws {
        let test = try await TestBackend.make()
        let ids = try await instances(test, count: 2)
        let leases = PortLeases(range: 40300...40300, isFreeOnHost: { _ in true })
        _ = try await test.database.transaction { tx in try leases.lease(for: ids[1], engine: "local", in: tx) }
        try await test.database.deleteAccountToolInstance(id: ids[1])
        let port = try await test.database.transaction { tx in try leases.lease(for: ids[0], engine: "local", in: tx) }
        #expect(port == 40300)
        #expect(try test.database.foreignKeyViolations().isEmpty)
    }

    @Test func portRangesAreParsedWithClearErrors() throws {
        #expect(try PortLeases.parseRange("29000-29999") == 29000...29999)
        for bad in ["", "29000", "2-1", "0-10", "1-70000", "a-b"] {
            #expect(throws: ServiceError.self, "\(bad)") { try PortLeases.parseRange(bad) }
        }
    }
}

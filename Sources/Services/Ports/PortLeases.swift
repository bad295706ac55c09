import Foundation
import Storage

/// Leases host ports to tool instances: unique per Docker engine in the database, and checked free on the host.
public struct PortLeases: Sendable {
    /// The engine name of the appliance's own Docker engine.
    public static let localEngine = "local"
    /// The ports leased when the configuration does not say.
    public static let defaultRange = 29000...29999

    public let range: ClosedRange<Int>
    /// Whether nothing on the host listens on a port (for a remote engine, its DTMA checks instead).
    let isFreeOnHost: @Sendable (Int) -> Bool

    public init(range: ClosedRange<Int> = defaultRange, isFreeOnHost: @escaping @Sendable (Int) -> Bool = PortLeases.canBind) {
        self.range = range
        self.isFreeOnHost = isFreeOnHost
    }

    /// Parses a range such as `29000-29999`, naming what is wrong otherwise.
    public static func parseRange(_ text: String) throws -> ClosedRange<Int> {
        let parts = text.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let low = parts[0], let high = parts[1], 1 <= low, low <= high, high <= 65535 else {
            throw ServiceError(.invalidRequest, "port range '\(text)' must look like 29000-29999, within 1-65535")
        }
        return low...high
    }

    /// The instance's port: its existing lease, or the lowest port of the range that is neither leased on
    /// `engine` nor in use on the host, leased now in the caller's transaction.
    public func lease(for instanceID: UUID, engine: String, in tx: Transaction) throws -> Int {
        if let existing = try tx.portLease(instanceID: instanceID) { return existing.port }
        let leased = try tx.leasedPorts(engine: engine)
        guard let port = range.first(where: { !leased.contains($0) && isFreeOnHost($0) }) else {
            throw ServiceError(
                .conflict,
                "no free host port is left in \(range.lowerBound)-\(range.upperBound) on engine \(engine); delete unused instances or widen --port-range")
        }
        try tx.insert(PortLease(engine: engine, port: port, accountToolInstanceID: instanceID))
        return port
    }

    /// Whether a TCP socket can bind the port on every address (so nothing listens on it).
    public static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: INADDR_ANY)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

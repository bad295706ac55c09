import Foundation
import ToolboxProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Reads the host's health the way `uptime`, `free` and `df` do: `/proc/loadavg`, `/proc/meminfo` and `statvfs("/")`.
enum HostHealthProbe {
    static func read(dockerReachable: Bool) -> HostHealth {
        HostHealth(load1: load1(), memoryAvailableBytes: memoryAvailable(), diskAvailableBytes: diskAvailable(), dockerReachable: dockerReachable)
    }

    /// The first field of `/proc/loadavg`.
    static func load1() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }

    /// `MemAvailable` of `/proc/meminfo`, in bytes.
    static func memoryAvailable() -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kilobytes = Int64(fields[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }

    /// Bytes available to unprivileged users on the root file system.
    static func diskAvailable() -> Int64? {
        var stats = statvfs()
        guard statvfs("/", &stats) == 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }
}

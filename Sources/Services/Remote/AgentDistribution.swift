import Crypto
import Foundation
import ToolboxProtocol

#if canImport(Glibc)
import Glibc
#endif

/// The agent release droplets download: a binary (this process's own, or `serve --agent-binary PATH`), its version
/// and SHA-256, and the `.deb` that installs it. Read and hashed once, when first asked for, on a thread of its own;
/// the package is written once, when first asked for, and kept in memory.
public actor AgentDistribution {
    /// The agent build: its version, the SHA-256 of its binary (lowercase hex) and the binary's bytes.
    public struct Binary: Sendable {
        public let release: AgentRelease
        public let bytes: Data
    }

    /// The `.deb` of the release.
    public struct Package: Sendable {
        public let release: AgentRelease
        /// dpkg's name for the architecture it is built for.
        public let architecture: String
        public let bytes: Data
        /// The SHA-256 (lowercase hex) of `bytes`.
        public let sha256: String

        /// `agentbox_<version>_<arch>.deb`.
        public var fileName: String { "agentbox_\(release.version)_\(architecture).deb" }
    }

    /// What failed to read the binary or build its package.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The file served; nil for this process's own binary.
    public let configuredPath: String?
    /// What a message names: the configured file, or this process's binary with links resolved.
    public nonisolated var path: String { configuredPath ?? Self.ownPath() }

    private var binaryTask: Task<Binary, any Error>?
    private var packageTask: Task<Package, any Error>?

    /// `binary`: the file to serve; nil (the default) for this process's own binary.
    public init(binary: String? = nil) {
        configuredPath = binary
    }

    /// The release: its version and its binary's SHA-256.
    public func release() async throws -> AgentRelease {
        try await binary().release
    }

    /// The binary, read and hashed the first time.
    public func binary() async throws -> Binary {
        let task: Task<Binary, any Error>
        if let binaryTask {
            task = binaryTask
        } else {
            let configuredPath = configuredPath
            task = Task { try await Self.blocking { try Self.load(configuredPath) } }
            binaryTask = task
        }
        do {
            return try await task.value
        } catch {
            // A failure is not kept: the next request tries again.
            if binaryTask == task { binaryTask = nil }
            throw error
        }
    }

    /// The `.deb` of the release, written the first time.
    public func package() async throws -> Package {
        let task: Task<Package, any Error>
        if let packageTask {
            task = packageTask
        } else {
            task = Task {
                let binary = try await self.binary()
                return try await Self.blocking { try Self.package(of: binary) }
            }
            packageTask = task
        }
        do {
            return try await task.value
        } catch {
            if packageTask == task { packageTask = nil }
            throw error
        }
    }

    // MARK: - The work, off the cooperative pool

    private static func load(_ configured: String?) throws -> Binary {
        // This process's own binary is read through /proc/self/exe, which stays the running file even if the path
        // is replaced on disk meanwhile.
        let readPath = configured ?? "/proc/self/exe"
        let name = configured ?? ownPath()
        let (bytes, sha256) = try readAndHash(readPath, name: name)
        let version = configured == nil ? AgentboxBuild.version : try askVersion(readPath)
        return Binary(release: AgentRelease(version: version, sha256: sha256), bytes: bytes)
    }

    private static func package(of binary: Binary) throws -> Package {
        let architecture = DebianPackage.hostArchitecture
        let control = DebianPackage.Control(
            package: "agentbox", version: binary.release.version, architecture: architecture, maintainer: "agentbox <agentbox@localhost>",
            depends: ["libc6", "libcurl4", "libsodium23", "libsqlite3-0"], section: "admin", priority: "optional",
            summary: "agentbox: tools for AI agents, the droplet's agent (DTMA)",
            details: "The agentbox binary; on a droplet it runs as `agentbox dtma`, calls home to its appliance and runs the toolbox's tools.")
        let bytes: Data
        do {
            bytes = try DebianPackage.build(binary: binary.bytes, executable: "agentbox", control: control)
        } catch let error as DebianPackage.Failure {
            throw Failure(description: "cannot package the agent binary: \(error.description)")
        }
        return Package(release: binary.release, architecture: architecture, bytes: bytes, sha256: hex(SHA256.hash(data: bytes)))
    }

    /// The file's bytes and their SHA-256, read in chunks.
    static func readAndHash(_ path: String, name: String) throws -> (Data, String) {
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw Failure(description: "cannot read the agent binary \(name): \(String(cString: strerror(errno)))")
        }
        defer { try? file.close() }
        var hasher = SHA256()
        var bytes = Data()
        if let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int { bytes.reserveCapacity(size) }
        do {
            while let chunk = try file.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
                bytes.append(chunk)
            }
        } catch {
            throw Failure(description: "cannot read the agent binary \(name): \(error.localizedDescription)")
        }
        guard !bytes.isEmpty else { throw Failure(description: "the agent binary \(name) is empty") }
        return (bytes, hex(hasher.finalize()))
    }

    /// The version `path version` prints (`agentbox X`), within 30 seconds.
    static func askVersion(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["version"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(description: "the agent binary \(path) cannot be run to ask its version: \(error.localizedDescription)")
        }
        let pid = process.processIdentifier
        let deadline = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: deadline)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        deadline.cancel()
        let text = String(decoding: data.prefix(4096), as: UTF8.self)
        let line = text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        let parts = line.split(separator: " ")
        guard process.terminationReason == .exit, process.terminationStatus == 0, parts.count == 2, parts[0] == "agentbox", !parts[1].isEmpty else {
            throw Failure(description: "the agent binary \(path) does not answer `version` with `agentbox X` (it is not an agentbox build?)")
        }
        return String(parts[1])
    }

    static func ownPath() -> String {
        guard let resolved = realpath("/proc/self/exe", nil) else { return CommandLine.arguments.first ?? "agentbox" }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Runs blocking work on a thread of its own, off Swift's cooperative pool.
    private static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingWork.run(work)
    }
}

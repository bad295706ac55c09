import Crypto
import Foundation
import ToolboxProtocol

#if canImport(Glibc)
import Glibc
#endif

/// The agent release droplets download: a binary (this process's own, or `serve --agent-binary PATH`), its version
/// and SHA-256, and the `.deb` that installs it. The binary is hashed once, when first asked for, on a thread of its
/// own; neither it nor the package is held in memory: downloads read the file as they send it. A configured file
/// that changed on disk since it was hashed is hashed again before the next download (and the next heartbeats
/// announce the new release).
public actor AgentDistribution {
    /// The agent build: its version, the SHA-256 of its binary (lowercase hex), and the file as it was when hashed.
    public struct Binary: Sendable {
        public let release: AgentRelease
        public let file: AgentFile
    }

    /// The `.deb` of the release: a frame around the binary's bytes.
    public struct Package: Sendable {
        public let release: AgentRelease
        /// dpkg's name for the architecture it is built for.
        public let architecture: String
        public let frame: DebianPackage.Frame
        public let binary: AgentFile
        /// The SHA-256 (lowercase hex) of the whole package.
        public let sha256: String

        /// `agentbox_<version>_<arch>.deb`.
        public var fileName: String { "agentbox_\(release.version)_\(architecture).deb" }
        public var size: Int { frame.size(binarySize: binary.size) }
    }

    /// A file read once to hash it: where to read it again, its size and MD5, and what tells its contents changed.
    public struct AgentFile: Sendable, Equatable {
        let path: String
        public let size: Int
        let md5: String
        /// Device, inode, size, modification and change times.
        let identity: [Int]
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

    /// The release: its version and its binary's SHA-256, as last hashed.
    public func release() async throws -> AgentRelease {
        try await hashed().release
    }

    /// The binary to send, hashed again first if its file changed since.
    public func binary() async throws -> Binary {
        let known = try await hashed()
        guard try await Self.blocking({ try Self.identity(of: known.file.path) }) != known.file.identity else { return known }
        binaryTask = nil
        return try await hashed()
    }

    /// The `.deb` of the release, framed and hashed the first time after each change of the binary.
    public func package() async throws -> Package {
        let binary = try await binary()
        let task: Task<Package, any Error>
        if let packageTask {
            task = packageTask
        } else {
            task = Task { try await Self.blocking { try Self.package(of: binary) } }
            packageTask = task
        }
        do {
            let package = try await task.value
            if package.binary == binary.file { return package }
            if packageTask == task { packageTask = nil }
            return try await self.package()
        } catch {
            if packageTask == task { packageTask = nil }
            throw error
        }
    }

    /// Sends `head`, the file's bytes, then `tail`, piece by piece, reading the file off the cooperative pool. A file
    /// that no longer has the size it was hashed with is a failure.
    public static func send(
        _ file: AgentFile, head: Data = Data(), tail: Data = Data(), to write: (Data) async throws -> Void
    ) async throws {
        let descriptor = try await blocking { try openForReading(file.path) }
        defer { close(descriptor) }
        if !head.isEmpty { try await write(head) }
        var offset = 0
        while offset < file.size {
            let count = min(piece, file.size - offset)
            let start = offset
            let bytes = try await blocking { try readPiece(descriptor, at: start, count: count, path: file.path) }
            guard bytes.count == count else {
                throw Failure(description: "the agent binary \(file.path) got shorter while it was sent; the next download hashes it again")
            }
            try await write(bytes)
            offset += bytes.count
        }
        if !tail.isEmpty { try await write(tail) }
    }

    /// How much of the file is read and sent at a time.
    static let piece = 1 << 20

    /// The binary as last hashed, hashing it the first time.
    private func hashed() async throws -> Binary {
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

    // MARK: - The work, off the cooperative pool

    private static func load(_ configured: String?) throws -> Binary {
        // This process's own binary is read through /proc/self/exe, which stays the running file even if the path
        // is replaced on disk meanwhile.
        let readPath = configured ?? "/proc/self/exe"
        let name = configured ?? ownPath()
        let (file, sha256) = try readAndHash(readPath, name: name)
        let version = configured == nil ? AgentboxBuild.version : try askVersion(readPath)
        return Binary(release: AgentRelease(version: version, sha256: sha256), file: file)
    }

    private static func package(of binary: Binary) throws -> Package {
        let architecture = DebianPackage.hostArchitecture
        let control = DebianPackage.Control(
            package: "agentbox", version: binary.release.version, architecture: architecture, maintainer: "agentbox <agentbox@localhost>",
            depends: ["libc6", "libcurl4", "libsodium23", "libsqlite3-0"], section: "admin", priority: "optional",
            summary: "agentbox: tools for AI agents, the droplet's agent (DTMA)",
            details: "The agentbox binary; on a droplet it runs as `agentbox dtma`, calls home to its appliance and runs the toolbox's tools.")
        let frame: DebianPackage.Frame
        do {
            frame = try DebianPackage.frame(binarySize: binary.file.size, md5: binary.file.md5, executable: "agentbox", control: control)
        } catch let error as DebianPackage.Failure {
            throw Failure(description: "cannot package the agent binary: \(error.description)")
        }
        var hasher = SHA256()
        hasher.update(data: frame.head)
        try readPieces(binary.file.path, name: binary.file.path) { hasher.update(data: $0) }
        hasher.update(data: frame.tail)
        return Package(release: binary.release, architecture: architecture, frame: frame, binary: binary.file, sha256: hex(hasher.finalize()))
    }

    /// The file's size, MD5 and identity, and its SHA-256, read in pieces; a file that changed while read is read again.
    static func readAndHash(_ path: String, name: String) throws -> (AgentFile, String) {
        for _ in 0..<3 {
            let before = try identity(of: path, name: name)
            var sha256 = SHA256()
            var md5 = Insecure.MD5()
            var size = 0
            try readPieces(path, name: name) { piece in
                sha256.update(data: piece)
                md5.update(data: piece)
                size += piece.count
            }
            guard size > 0 else { throw Failure(description: "the agent binary \(name) is empty") }
            if try identity(of: path, name: name) == before {
                return (AgentFile(path: path, size: size, md5: hex(md5.finalize()), identity: before), hex(sha256.finalize()))
            }
        }
        throw Failure(description: "the agent binary \(name) keeps changing while it is read; try again once it is written")
    }

    /// Reads the whole file, a piece at a time.
    private static func readPieces(_ path: String, name: String, _ body: (Data) -> Void) throws {
        let descriptor = try openForReading(path, name: name)
        defer { close(descriptor) }
        var offset = 0
        while true {
            let bytes = try readPiece(descriptor, at: offset, count: piece, path: name)
            if bytes.isEmpty { return }
            body(bytes)
            offset += bytes.count
        }
    }

    private static func openForReading(_ path: String, name: String? = nil) throws -> Int32 {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(description: "cannot read the agent binary \(name ?? path): \(String(cString: strerror(errno)))") }
        return descriptor
    }

    /// Up to `count` bytes at `offset`; fewer only at the end of the file.
    private static func readPiece(_ descriptor: Int32, at offset: Int, count: Int, path: String) throws -> Data {
        var bytes = Data(count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + filled, count - filled, off_t(offset + filled))
            }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw Failure(description: "cannot read the agent binary \(path): \(String(cString: strerror(errno)))") }
            if got == 0 { break }
            filled += got
        }
        return bytes.prefix(filled)
    }

    /// What changes when the file's contents do: device, inode, size, modification and change times.
    static func identity(of path: String, name: String? = nil) throws -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Failure(description: "cannot read the agent binary \(name ?? path): \(String(cString: strerror(errno)))")
        }
        return [
            Int(info.st_dev), Int(info.st_ino), Int(info.st_size), info.st_mtim.tv_sec, info.st_mtim.tv_nsec, info.st_ctim.tv_sec,
            info.st_ctim.tv_nsec,
        ]
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

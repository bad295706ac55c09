import Foundation
import ToolboxProtocol

/// Another version of the agentbox binary without building twice: a copy whose version stamp (see `AgentboxBuild`)
/// is rewritten in place.
public enum VersionStamp {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Copies `binary` to `path` (mode 0755) with every version stamp's version replaced by `version`, NUL-padded
    /// to fill the stamp. A stamp is the prefix, a version, and NULs to the stamp's size; other occurrences of the
    /// prefix's text (the constant itself) are left alone. Fails if the binary has no stamp or the version does not fit.
    public static func patchedCopy(of binary: String, to path: String, version: String) throws {
        let prefix = Array(AgentboxBuild.stampPrefix.utf8)
        let room = AgentboxBuild.stampSize - prefix.count
        let versionBytes = Array(version.utf8)
        guard !versionBytes.isEmpty, !versionBytes.contains(0) else { throw Failure(description: "the version must be non-empty text without NUL") }
        guard versionBytes.count <= room else {
            throw Failure(description: "version '\(version)' is \(versionBytes.count) bytes; the stamp has room for \(room)")
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: binary))
        let replacement = versionBytes + [UInt8](repeating: 0, count: room - versionBytes.count)
        let found = bytes.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            var found = 0
            var offset = 0
            // memchr and memcmp: the binary is large, and a byte-by-byte loop in a debug build is slow.
            while offset + AgentboxBuild.stampSize <= raw.count, let hit = memchr(base + offset, Int32(prefix[0]), raw.count - offset) {
                let at = base.distance(to: UnsafeMutableRawPointer(hit))
                guard at + AgentboxBuild.stampSize <= raw.count else { break }
                guard memcmp(base + at, prefix, prefix.count) == 0 else {
                    offset = at + 1
                    continue
                }
                let tail = UnsafeMutableRawBufferPointer(start: base + at + prefix.count, count: room)
                // A stamp, not another use of the prefix's text: a version, then NULs to the stamp's end.
                let text = tail.prefix { $0 != 0 }
                if !text.isEmpty, text.allSatisfy({ (0x21..<0x7f).contains($0) }), tail.dropFirst(text.count).allSatisfy({ $0 == 0 }) {
                    replacement.withUnsafeBytes { tail.copyMemory(from: $0) }
                    found += 1
                    offset = at + AgentboxBuild.stampSize
                } else {
                    offset = at + 1
                }
            }
            return found
        }
        guard found > 0 else { throw Failure(description: "\(binary) has no version stamp (\(AgentboxBuild.stampPrefix))") }
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.removeItem(at: url)
        try bytes.write(to: url)
        guard chmod(path, 0o755) == 0 else { throw Failure(description: "cannot make \(path) executable") }
    }
}

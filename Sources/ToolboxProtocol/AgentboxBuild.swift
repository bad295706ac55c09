/// The version of this build, read at run time from a fixed-size stamp in the binary.
///
/// The stamp is a 48-byte literal, `agentbox-version-stamp:` then the version and NUL padding, so that a release
/// tool (or a test of the droplet agents' self-update) can give a copy of the binary another version by rewriting
/// those bytes in place, without building the project again. Both roles report it: `agentbox version`, `/healthz`
/// and every heartbeat.
public enum AgentboxBuild {
    /// The version, e.g. `0.1.0`.
    public static let version: String = readStamp()

    /// What precedes the version in the binary.
    public static let stampPrefix = "agentbox-version-stamp:"
    /// The stamp's whole size in the binary: prefix, version and NUL padding.
    public static let stampSize = 48

    private static let stamp: StaticString = "agentbox-version-stamp:0.1.0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"

    /// Reads the stamp's bytes from memory, never a value the optimiser folded at build time (a patched copy must show its patch).
    @inline(never) @_optimize(none)
    private static func readStamp() -> String {
        let bytes = UnsafeBufferPointer(start: stamp.utf8Start, count: stamp.utf8CodeUnitCount)
        let version = bytes.dropFirst(stampPrefix.utf8.count).prefix { $0 != 0 }
        return String(decoding: version, as: UTF8.self)
    }
}

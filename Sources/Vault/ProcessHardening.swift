import Foundation

/// Process settings that keep keys and secrets out of places they could leak to.
public enum ProcessHardening {
    /// Turns off core dumps (which would write keys in memory to disk) and makes every file the
    /// process creates readable by its owner only.
    public static func apply() {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        umask(0o077)
    }
}

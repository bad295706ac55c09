import Crypto
import Foundation
import ToolboxProtocol

#if canImport(Glibc)
import Glibc
#endif

/// The self-update's bookkeeping, `<state>/release.json`: the binary to run (`current`, nil for the installed
/// `/usr/bin/agentbox`), the one to return to (`previous`), an update on trial, the versions that failed (never
/// tried again), and what to tell the toolbox's owner about the last failure.
public struct ReleaseState: Codable, Sendable, Equatable {
    public var current: String?
    public var previous: String?
    public var trial: Trial?
    public var failed: [String]
    public var notice: Notice?

    /// A new binary started by `exec`, until its first good heartbeat (commit) or its grace ends (roll back).
    public struct Trial: Codable, Sendable, Equatable {
        public var path: String
        public var version: String
        public var startedAt: Date

        public init(path: String, version: String, startedAt: Date) {
            self.path = path
            self.version = version
            self.startedAt = startedAt
        }

        enum CodingKeys: String, CodingKey {
            case path, version
            case startedAt = "started_at"
        }
    }

    /// A failed update: its version and why (nil: it started but did not come up healthy, and was rolled back).
    public struct Notice: Codable, Sendable, Equatable {
        public var version: String
        public var reason: String?

        public init(version: String, reason: String?) {
            self.version = version
            self.reason = reason
        }
    }

    public init(current: String? = nil, previous: String? = nil, trial: Trial? = nil, failed: [String] = [], notice: Notice? = nil) {
        self.current = current
        self.previous = previous
        self.trial = trial
        self.failed = failed
        self.notice = notice
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        current = try container.decodeIfPresent(String.self, forKey: .current)
        previous = try container.decodeIfPresent(String.self, forKey: .previous)
        trial = try container.decodeIfPresent(Trial.self, forKey: .trial)
        failed = try container.decodeIfPresent([String].self, forKey: .failed) ?? []
        notice = try container.decodeIfPresent(Notice.self, forKey: .notice)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(current, forKey: .current)
        try container.encode(previous, forKey: .previous)
        try container.encode(trial, forKey: .trial)
        try container.encode(failed, forKey: .failed)
        try container.encodeIfPresent(notice, forKey: .notice)
    }

    enum CodingKeys: String, CodingKey {
        case current, previous, trial, failed, notice
    }

    mutating func markFailed(_ version: String) {
        if !failed.contains(version) { failed.append(version) }
    }
}

/// What a starting `agentbox dtma` does about its release state, decided by ``SelfUpdate/atStart(_:running:runningVersion:exists:)``.
public struct StartPlan: Sendable, Equatable {
    /// The release state to save (unchanged when nothing needed saying).
    public var state: ReleaseState
    /// Replace this process with that binary (same arguments and environment) before doing anything else.
    public var exec: String?
    /// This process is an update on trial: commit after the first good heartbeat, roll back after the grace.
    public var isTrial: Bool
}

/// The self-update's decisions, pure functions of the release state so that they can be tested; ``SelfUpdater`` acts on them.
public enum SelfUpdate {
    /// The file name of a downloaded release: `agentbox-<version>`.
    public static func binaryName(_ version: String) -> String { "agentbox-" + version }

    /// The version in a release binary's path (`.../agentbox-<version>`); nil for any other binary (the installed one).
    public static func version(ofRelease path: String) -> String? {
        let name = (path as NSString).lastPathComponent
        guard name.hasPrefix("agentbox-"), name.count > 9 else { return nil }
        return String(name.dropFirst(9))
    }

    /// A version from the appliance that may become a file name: letters, digits, `.`, `-`, `+`, `_`, `~`.
    public static func isSafeVersion(_ version: String) -> Bool {
        !version.isEmpty && version.count <= 64 && !version.hasPrefix(".")
            && version.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || ".-+_~".unicodeScalars.contains($0)) }
    }

    /// On start: (a) this process is the trial: run, on trial; (b) a trial is recorded but this process is not it (it
    /// crashed and the installed binary was restarted): that version failed, and the previous binary runs again;
    /// (c) an updated `current` binary exists that is not this one and has not failed: run it (a rebooted droplet).
    public static func atStart(_ state: ReleaseState, running: String, runningVersion: String, exists: (String) -> Bool) -> StartPlan {
        var state = state
        if let trial = state.trial {
            if trial.path == running {
                return StartPlan(state: state, exec: nil, isTrial: true)
            }
            state.markFailed(trial.version)
            state.notice = ReleaseState.Notice(version: trial.version, reason: nil)
            state.trial = nil
            if state.current == trial.path { state.current = nil }
            if let previous = state.previous, previous != running, exists(previous), !isFailed(previous, state) {
                return StartPlan(state: state, exec: previous, isTrial: false)
            }
            return StartPlan(state: state, exec: nil, isTrial: false)
        }
        if let current = state.current, current != running {
            if exists(current) && !isFailed(current, state) {
                return StartPlan(state: state, exec: current, isTrial: false)
            }
            // Gone or failed: the running binary is what there is.
            state.current = nil
        }
        return StartPlan(state: state, exec: nil, isTrial: false)
    }

    private static func isFailed(_ path: String, _ state: ReleaseState) -> Bool {
        version(ofRelease: path).map { state.failed.contains($0) } ?? false
    }

    /// Whether to fetch `release`: another version than the running one, and not one that failed here before.
    public static func wants(_ release: AgentRelease, running: String, state: ReleaseState) -> Bool {
        release.version != running && !state.failed.contains(release.version) && isSafeVersion(release.version)
    }

    /// The state just before `exec`ing a binary that passed its self-test: it is on trial, and the running one is where to return.
    public static func beginTrial(_ state: ReleaseState, path: String, version: String, running: String, now: Date) -> ReleaseState {
        var state = state
        state.previous = running
        state.trial = ReleaseState.Trial(path: path, version: version, startedAt: now)
        state.notice = nil
        return state
    }

    /// The trial's first good heartbeat: it becomes the binary to run.
    public static func commit(_ state: ReleaseState) -> ReleaseState {
        guard let trial = state.trial else { return state }
        var state = state
        state.current = trial.path
        state.trial = nil
        state.notice = nil
        return state
    }

    /// The trial's grace ended without a good heartbeat: its version failed; run `previous` again (if it exists and is another binary).
    public static func rollBack(_ state: ReleaseState, running: String, exists: (String) -> Bool) -> (state: ReleaseState, exec: String?) {
        guard let trial = state.trial else { return (state, nil) }
        var state = state
        state.markFailed(trial.version)
        state.notice = ReleaseState.Notice(version: trial.version, reason: nil)
        state.trial = nil
        if state.current == trial.path { state.current = nil }
        guard let previous = state.previous, previous != running, exists(previous) else { return (state, nil) }
        return (state, previous)
    }

    /// A downloaded or tested version that did not make it.
    public static func failed(_ state: ReleaseState, version: String, reason: String) -> ReleaseState {
        var state = state
        state.markFailed(version)
        state.notice = ReleaseState.Notice(version: version, reason: reason)
        return state
    }

    /// The heartbeat's `agent_note` for a failed update, said from the running version's point of view.
    public static func note(_ notice: ReleaseState.Notice?, running: String) -> String? {
        guard let notice else { return nil }
        if let reason = notice.reason {
            return "update to \(notice.version) failed: \(reason); still running \(running)"
        }
        return "update to \(notice.version) did not come up healthy; rolled back to \(running)"
    }

    /// The binaries in `releases/` to keep: current, previous and the trial; every other one may go.
    public static func keep(_ state: ReleaseState, running: String) -> Set<String> {
        Set([state.current, state.previous, state.trial?.path, running].compactMap { $0 })
    }

    /// Whether `output` (the self-test's standard output) has the line `agentbox-dtma-ok <version>`.
    public static func selfTestPassed(_ output: String, version: String) -> Bool {
        output.split(whereSeparator: \.isNewline).contains { $0.trimmingCharacters(in: .whitespaces) == "agentbox-dtma-ok \(version)" }
    }

    /// The SHA-256 of `bytes`, lowercase hex, as the heartbeat announces a release's.
    static func sha256(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    /// Whether a binary's SHA-256 is the one the heartbeat announced (hex, either case).
    public static func checksumMatches(_ actual: String, expected: String) -> Bool {
        let expected = expected.lowercased()
        return expected.count == 64 && expected.allSatisfy(\.isHexDigit) && actual.lowercased() == expected
    }
}

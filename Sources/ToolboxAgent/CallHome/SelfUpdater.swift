import Foundation
import ToolboxProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Acts on the self-update's decisions (``SelfUpdate``): keeps `release.json`, downloads and checks a new release,
/// has it test itself, `exec`s it, and commits or rolls back a trial.
actor SelfUpdater {
    let settings: DTMASettings
    let log: DTMALog
    /// This process's binary.
    let running: String
    /// The arguments after the binary, passed on to the next binary and its self-test.
    let arguments: [String]
    let selfTestLimit: Duration
    private(set) var state: ReleaseState
    private(set) var isTrial = false
    private var busy = false
    /// Download failures in a row (not verification failures), and when the next attempt may start.
    private var downloadFailures = 0
    private var nextAttempt: ContinuousClock.Instant?

    init(settings: DTMASettings, log: DTMALog, running: String = ProcessTools.ownPath(), arguments: [String], selfTestLimit: Duration = .seconds(20)) {
        self.settings = settings
        self.log = log
        self.running = running
        self.arguments = arguments
        self.selfTestLimit = selfTestLimit
        state = Self.load(settings.releaseStatePath, log: log)
    }

    static func load(_ path: String, log: DTMALog) -> ReleaseState {
        guard let data = FileManager.default.contents(atPath: path) else { return ReleaseState() }
        do {
            return try JSONDecoder.releaseState.decode(ReleaseState.self, from: data)
        } catch {
            log.warning("self-update: \(path) cannot be read (\(error)); starting with no release history")
            return ReleaseState()
        }
    }

    private func save(_ state: ReleaseState) {
        self.state = state
        do {
            let data = try JSONEncoder.releaseState.encode(state)
            try DTMASettings.writeAtomically(Array(data), to: settings.releaseStatePath, mode: 0o600)
        } catch {
            log.error("self-update: cannot save \(settings.releaseStatePath): \(error)")
        }
    }

    /// On start: the plan for this process; saves what changed. Execs another binary when the plan says so
    /// (and returns only if that fails).
    func start() {
        let plan = SelfUpdate.atStart(state, running: running, runningVersion: AgentboxBuild.version, exists: ProcessTools.exists)
        let before = state
        if plan.state != state { save(plan.state) }
        isTrial = plan.isTrial
        if let trial = state.trial, plan.isTrial {
            log.notice("self-update: this is agentbox \(trial.version) on trial; it commits after its first good heartbeat")
        }
        for version in plan.state.failed where !before.failed.contains(version) {
            log.warning("self-update: agentbox \(version) did not come up healthy; it is marked failed and will not be tried again")
        }
        if let target = plan.exec {
            log.notice("self-update: starting \(target) (the release this droplet runs)")
            let error = ProcessTools.exec(target, arguments: arguments)
            log.error("self-update: \(error.message); carrying on with \(running)")
        }
        prune()
    }

    /// The heartbeat's note about a failed update, if any.
    var note: String? { SelfUpdate.note(state.notice, running: AgentboxBuild.version) }

    /// A heartbeat got its answer: a trial commits, and a note about an update older than the appliance's release goes.
    func heartbeatSucceeded(release: AgentRelease) {
        if isTrial, state.trial?.path == running {
            let version = state.trial?.version ?? AgentboxBuild.version
            save(SelfUpdate.commit(state))
            isTrial = false
            log.notice("self-update: agentbox \(version) is healthy; committed (it runs from now on, also after a reboot)")
            prune()
        } else if release.version == AgentboxBuild.version, state.notice != nil {
            var cleared = state
            cleared.notice = nil
            save(cleared)
        }
    }

    /// The trial's grace ended: rolled back unless it committed meanwhile. Execs the previous binary (returns only if that fails).
    func graceEnded() {
        guard isTrial, let trial = state.trial, trial.path == running else { return }
        let (next, target) = SelfUpdate.rollBack(state, running: running, exists: ProcessTools.exists)
        save(next)
        isTrial = false
        log.error("self-update: agentbox \(trial.version) had no good heartbeat within its grace; rolling back")
        if let target {
            let error = ProcessTools.exec(target, arguments: arguments)
            log.error("self-update: \(error.message); carrying on with \(running)")
        }
    }

    /// Whether an update to `release` should start now (another version, not failed before, not waiting out a back-off).
    func shouldStart(_ release: AgentRelease) -> Bool {
        guard !busy, !isTrial, SelfUpdate.wants(release, running: AgentboxBuild.version, state: state) else { return false }
        if let nextAttempt, ContinuousClock.now < nextAttempt { return false }
        return true
    }

    /// Downloads, verifies and self-tests `release`; on success returns the new binary's path (the caller drains and calls
    /// ``exec(_:version:)``), on failure records it and returns nil.
    func prepare(_ release: AgentRelease, link: ApplianceLink) async -> String? {
        await prepare(release) { path async throws(DTMAError) in try await link.downloadAgent(to: path) }
    }

    /// ``prepare(_:link:)`` with the download given: it writes the binary to the path and returns the served version and its SHA-256.
    func prepare(_ release: AgentRelease, download: @Sendable (String) async throws(DTMAError) -> (version: String?, sha256: String)) async -> String? {
        guard shouldStart(release) else { return nil }
        // Busy until the new binary is exec'd (or that failed): no second download meanwhile.
        busy = true
        var ready = false
        defer { if !ready { busy = false } }
        log.notice("self-update: the appliance serves agentbox \(release.version); this is \(AgentboxBuild.version); downloading")
        let directory = settings.releasesDirectory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            log.error("self-update: cannot create \(directory): \(error.localizedDescription)")
            return nil
        }
        let target = directory + "/" + SelfUpdate.binaryName(release.version)
        let temporary = target + ".download-\(getpid())"
        unlink(temporary)
        let downloaded: (version: String?, sha256: String)
        do {
            downloaded = try await download(temporary)
        } catch {
            unlink(temporary)
            retryLater(release.version, error.message)
            return nil
        }
        downloadFailures = 0
        nextAttempt = nil
        if let served = downloaded.version, served != release.version {
            // The appliance's release changed since the heartbeat: not this version's fault; the next heartbeat says which.
            unlink(temporary)
            retryLater(release.version, "the appliance served version \(served) instead")
            return nil
        }
        guard SelfUpdate.checksumMatches(downloaded.sha256, expected: release.sha256) else {
            unlink(temporary)
            fail(release.version, "its SHA-256 is \(downloaded.sha256), not the announced \(release.sha256); the file was deleted")
            return nil
        }
        guard chmod(temporary, 0o755) == 0, rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            log.error("self-update: cannot install \(target): \(reason)")
            return nil
        }
        let installed = ProcessTools.canonical(target) ?? target
        log.info("self-update: agentbox \(release.version) downloaded and verified; running its self-test")
        switch await ProcessTools.run(installed, arguments + ["--self-test"], limit: selfTestLimit) {
        case .failure(let error):
            fail(release.version, error.message)
            unlink(target)
            return nil
        case .success(let output):
            guard SelfUpdate.selfTestPassed(output, version: release.version) else {
                fail(release.version, "its self-test did not print \"agentbox-dtma-ok \(release.version)\"")
                unlink(target)
                return nil
            }
        }
        ready = true
        return installed
    }

    /// Records the trial and replaces this process with it (returns only if that fails, having recorded the failure).
    func exec(_ path: String, version: String) {
        save(SelfUpdate.beginTrial(state, path: path, version: version, running: running, now: Date()))
        log.notice("self-update: agentbox \(version) passed its self-test; starting it (containers keep running)")
        let error = ProcessTools.exec(path, arguments: arguments)
        var back = state
        back.trial = nil
        save(SelfUpdate.failed(back, version: version, reason: error.message))
        busy = false
        log.error("self-update: \(error.message)")
    }

    /// A download that did not arrive (not one that arrived wrong): tried again at a later heartbeat, after a growing wait.
    private func retryLater(_ version: String, _ reason: String) {
        downloadFailures += 1
        let wait = min(Duration.seconds(15) * (1 << min(downloadFailures, 6)), .seconds(900))
        nextAttempt = ContinuousClock.now + wait
        log.warning("self-update: downloading agentbox \(version) failed (\(reason)); trying again in \(wait.wholeMilliseconds / 1000) s")
    }

    private func fail(_ version: String, _ reason: String) {
        save(SelfUpdate.failed(state, version: version, reason: reason))
        log.error("self-update: update to \(version) failed: \(reason); it will not be tried again; still running \(AgentboxBuild.version)")
    }

    /// Removes release binaries that are neither current, previous, on trial nor running.
    private func prune() {
        let keep = SelfUpdate.keep(state, running: running)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: settings.releasesDirectory) else { return }
        for name in names {
            let path = settings.releasesDirectory + "/" + name
            if !keep.contains(path) && !keep.contains(ProcessTools.canonical(path) ?? path) {
                unlink(path)
            }
        }
    }
}

extension JSONEncoder {
    static var releaseState: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }
}

extension JSONDecoder {
    static var releaseState: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

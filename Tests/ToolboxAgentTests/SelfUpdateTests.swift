import Foundation
import Testing
import ToolboxProtocol

@testable import ToolboxAgent

/// The droplet agent's self-update: the decisions over release.json (pure), and the download, checksum and self-test
/// of a new binary, with a shell script standing in for the new agentbox.
struct SelfUpdateTests {
    let installed = "/usr/bin/agentbox"
    let v2 = "/var/lib/agentbox-dtma/releases/agentbox-0.2.0"
    let v3 = "/var/lib/agentbox-dtma/releases/agentbox-0.3.0"

    // MARK: - At start

    @Test func aProcessThatIsTheTrialRunsOnTrialAndChangesNothing() {
        let state = ReleaseState(current: nil, previous: installed, trial: .init(path: v2, version: "0.2.0", startedAt: Date()), failed: [])
        let plan = SelfUpdate.atStart(state, running: v2, runningVersion: "0.2.0") { _ in true }
        #expect(plan == StartPlan(state: state, exec: nil, isTrial: true))
    }

    @Test func aTrialThatCrashedIsMarkedFailedAndThePreviousBinaryRunsAgain() {
        // v3 was on trial, started from v2; it crashed and systemd restarted /usr/bin/agentbox.
        let state = ReleaseState(current: v2, previous: v2, trial: .init(path: v3, version: "0.3.0", startedAt: Date()), failed: ["0.1.5"])
        let plan = SelfUpdate.atStart(state, running: installed, runningVersion: "0.1.0") { _ in true }
        #expect(plan.exec == v2)
        #expect(plan.isTrial == false)
        #expect(plan.state.trial == nil)
        #expect(plan.state.failed == ["0.1.5", "0.3.0"])
        #expect(plan.state.current == v2)
        #expect(plan.state.notice == ReleaseState.Notice(version: "0.3.0", reason: nil))
        // The note is said by whichever binary runs next.
        #expect(SelfUpdate.note(plan.state.notice, running: "0.2.0") == "update to 0.3.0 did not come up healthy; rolled back to 0.2.0")
    }

    @Test func aTrialThatCrashedWithTheInstalledBinaryAsPreviousJustCarriesOn() {
        let state = ReleaseState(current: nil, previous: installed, trial: .init(path: v2, version: "0.2.0", startedAt: Date()), failed: [])
        let plan = SelfUpdate.atStart(state, running: installed, runningVersion: "0.1.0") { _ in true }
        #expect(plan.exec == nil)
        #expect(plan.state.trial == nil && plan.state.failed == ["0.2.0"])
        // A previous binary that is gone is not exec'd either.
        let gone = SelfUpdate.atStart(
            ReleaseState(current: nil, previous: v2, trial: .init(path: v3, version: "0.3.0", startedAt: Date())), running: installed, runningVersion: "0.1.0"
        ) { $0 != v2 }
        #expect(gone.exec == nil && gone.state.failed == ["0.3.0"])
    }

    @Test func aRebootedDropletRunsItsCommittedUpdate() {
        let state = ReleaseState(current: v2, previous: installed, trial: nil, failed: [])
        let plan = SelfUpdate.atStart(state, running: installed, runningVersion: "0.1.0") { _ in true }
        #expect(plan.exec == v2 && plan.state == state)
        // Already running it: nothing to do.
        #expect(SelfUpdate.atStart(state, running: v2, runningVersion: "0.2.0") { _ in true }.exec == nil)
        // Its file is gone, or its version failed since: the running binary carries on, and current is cleared.
        let missing = SelfUpdate.atStart(state, running: installed, runningVersion: "0.1.0") { _ in false }
        #expect(missing.exec == nil && missing.state.current == nil)
        var failed = state
        failed.failed = ["0.2.0"]
        #expect(SelfUpdate.atStart(failed, running: installed, runningVersion: "0.1.0") { _ in true }.exec == nil)
    }

    @Test func noReleaseStateRunsTheInstalledBinary() {
        let plan = SelfUpdate.atStart(ReleaseState(), running: installed, runningVersion: "0.1.0") { _ in true }
        #expect(plan == StartPlan(state: ReleaseState(), exec: nil, isTrial: false))
    }

    // MARK: - Trial, commit, roll back

    @Test func aTrialCommitsToCurrentOrRollsBackToPrevious() {
        let begun = SelfUpdate.beginTrial(
            ReleaseState(notice: .init(version: "0.1.5", reason: "x")), path: v2, version: "0.2.0", running: installed, now: Date(timeIntervalSince1970: 0))
        #expect(begun.previous == installed && begun.trial?.path == v2 && begun.trial?.version == "0.2.0" && begun.current == nil && begun.notice == nil)

        let committed = SelfUpdate.commit(begun)
        #expect(committed.current == v2 && committed.previous == installed && committed.trial == nil)
        #expect(SelfUpdate.keep(committed, running: v2) == [v2, installed])

        let (rolledBack, target) = SelfUpdate.rollBack(begun, running: v2) { _ in true }
        #expect(target == installed)
        #expect(rolledBack.trial == nil && rolledBack.failed == ["0.2.0"] && rolledBack.current == nil)
        #expect(SelfUpdate.note(rolledBack.notice, running: "0.1.0") == "update to 0.2.0 did not come up healthy; rolled back to 0.1.0")
        // Nothing to go back to: stay.
        #expect(SelfUpdate.rollBack(begun, running: v2) { _ in false }.exec == nil)
    }

    @Test func onlyAnotherVersionThatNeverFailedIsFetched() {
        let release = AgentRelease(version: "0.2.0", sha256: String(repeating: "a", count: 64))
        #expect(SelfUpdate.wants(release, running: "0.1.0", state: ReleaseState()))
        #expect(!SelfUpdate.wants(release, running: "0.2.0", state: ReleaseState()))
        #expect(!SelfUpdate.wants(release, running: "0.1.0", state: ReleaseState(failed: ["0.2.0"])))
        #expect(!SelfUpdate.wants(AgentRelease(version: "../../bin/sh", sha256: release.sha256), running: "0.1.0", state: ReleaseState()))
        #expect(SelfUpdate.note(SelfUpdate.failed(ReleaseState(), version: "0.2.0", reason: "bad").notice, running: "0.1.0")
            == "update to 0.2.0 failed: bad; still running 0.1.0")
    }

    @Test func releaseJSONHasTheDocumentedShape() throws {
        let state = ReleaseState(current: nil, previous: installed, trial: .init(path: v2, version: "0.2.0", startedAt: Date(timeIntervalSince1970: 0)), failed: ["0.1.5"])
        let data = try JSONEncoder.releaseState.encode(state)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["current"] is NSNull)
        #expect(object["previous"] as? String == installed)
        #expect(object["failed"] as? [String] == ["0.1.5"])
        let trial = try #require(object["trial"] as? [String: Any])
        #expect(trial["path"] as? String == v2 && trial["version"] as? String == "0.2.0" && trial["started_at"] as? String == "1970-01-01T00:00:00Z")
        #expect(try JSONDecoder.releaseState.decode(ReleaseState.self, from: data) == state)
        #expect(try JSONDecoder.releaseState.decode(ReleaseState.self, from: Data(#"{"current":null,"previous":null,"trial":null}"#.utf8)) == ReleaseState())
    }

    @Test func theSelfTestLineAndTheChecksumAreCheckedExactly() {
        #expect(SelfUpdate.selfTestPassed("starting\nagentbox-dtma-ok 0.2.0\n", version: "0.2.0"))
        #expect(!SelfUpdate.selfTestPassed("agentbox-dtma-ok 0.1.0\n", version: "0.2.0"))
        #expect(!SelfUpdate.selfTestPassed("agentbox-dtma-ok 0.2.0.1\n", version: "0.2.0"))
        let sum = String(repeating: "ab", count: 32)
        #expect(SelfUpdate.checksumMatches(sum, expected: sum.uppercased()))
        #expect(!SelfUpdate.checksumMatches(sum, expected: String(repeating: "ac", count: 32)))
        #expect(!SelfUpdate.checksumMatches("", expected: ""))
    }

    // MARK: - Download, verify, self-test

    func updater() throws -> (SelfUpdater, DTMASettings) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dtma-update-\(UUID().uuidString)").path
        let settings = DTMASettings(
            applianceURL: "https://appliance.invalid", pin: nil, toolboxID: UUID(), enrollmentTokenFile: nil, stateDirectory: directory, dockerSocket: "/nonexistent")
        try settings.prepareStateDirectory()
        return (SelfUpdater(settings: settings, log: .silent, running: installed, arguments: ["dtma"], selfTestLimit: .seconds(5)), settings)
    }

    static func sha256(_ bytes: [UInt8]) -> String { SelfUpdate.sha256(bytes) }

    /// A download that writes `bytes` and says the binary is `version`.
    static func serving(_ bytes: [UInt8], version: String) -> @Sendable (String) async throws(DTMAError) -> (version: String?, sha256: String) {
        { path throws(DTMAError) in
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            return (version, sha256(bytes))
        }
    }

    @Test func aBinaryWhoseChecksumIsNotTheAnnouncedOneIsDeletedAndItsVersionFails() async throws {
        let (updater, settings) = try updater()
        defer { try? FileManager.default.removeItem(atPath: settings.stateDirectory) }
        let script = Array("#!/bin/sh\necho agentbox-dtma-ok 9.0.0\n".utf8)
        let release = AgentRelease(version: "9.0.0", sha256: Self.sha256(Array("something else".utf8)))
        let path = await updater.prepare(release, download: Self.serving(script, version: "9.0.0"))
        #expect(path == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: settings.releasesDirectory).isEmpty, "the file is deleted")
        let state = await updater.state
        #expect(state.failed == ["9.0.0"])
        let note = try #require(await updater.note)
        #expect(note.hasPrefix("update to 9.0.0 failed: its SHA-256 is ") && note.hasSuffix("; still running \(AgentboxBuild.version)"))
        // Never tried again, and saved for the next process.
        #expect(await !updater.shouldStart(release))
        #expect(SelfUpdater.load(settings.releaseStatePath, log: .silent).failed == ["9.0.0"])
    }

    @Test func aVerifiedBinaryThatPassesItsSelfTestIsInstalled0755() async throws {
        let (updater, settings) = try updater()
        defer { try? FileManager.default.removeItem(atPath: settings.stateDirectory) }
        // The self-test gets the same arguments plus --self-test.
        let script = Array("#!/bin/sh\n[ \"$1 $2\" = \"dtma --self-test\" ] || exit 3\necho starting\necho agentbox-dtma-ok 9.0.0\n".utf8)
        let release = AgentRelease(version: "9.0.0", sha256: Self.sha256(script))
        let path = try #require(await updater.prepare(release, download: Self.serving(script, version: "9.0.0")))
        #expect(path.hasSuffix("/releases/agentbox-9.0.0"))
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o755)
        #expect(await updater.state.failed.isEmpty)
        #expect(await updater.note == nil)
    }

    @Test func aSelfTestThatFailsOrHangsOrSaysAnotherVersionFailsTheUpdate() async throws {
        let cases: [(String, String)] = [
            ("#!/bin/sh\necho agentbox-dtma-ok 9.0.0\nexit 1\n", "exited with status 1"),
            ("#!/bin/sh\necho agentbox-dtma-ok 8.0.0\n", "did not print"),
            ("#!/bin/sh\nexec sleep 30\n", "did not finish within"),
        ]
        for (text, reason) in cases {
            let (updater, settings) = try updater()
            defer { try? FileManager.default.removeItem(atPath: settings.stateDirectory) }
            let script = Array(text.utf8)
            let path = await updater.prepare(AgentRelease(version: "9.0.0", sha256: Self.sha256(script)), download: Self.serving(script, version: "9.0.0"))
            #expect(path == nil)
            let note = try #require(await updater.note)
            #expect(note.contains(reason), "\(note)")
            #expect(!FileManager.default.fileExists(atPath: settings.releasesDirectory + "/agentbox-9.0.0"))
        }
    }

    @Test func aDownloadThatFailsIsRetriedLaterNotMarkedFailed() async throws {
        let (updater, settings) = try updater()
        defer { try? FileManager.default.removeItem(atPath: settings.stateDirectory) }
        let release = AgentRelease(version: "9.0.0", sha256: String(repeating: "a", count: 64))
        let path = await updater.prepare(release) { _ throws(DTMAError) in throw DTMAError(.connection, "connection refused") }
        #expect(path == nil)
        #expect(await updater.state.failed.isEmpty)
        #expect(await updater.note == nil)
        #expect(await !updater.shouldStart(release), "not at once: after a back-off")
    }
}

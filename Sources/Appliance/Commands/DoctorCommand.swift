import ArgumentParser
import Foundation
import Services

/// `agentbox doctor`: checks the data directory, the database, the vault, Docker, disk and clock.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the installation and print each finding as ok, WARN or FAIL with its fix; exits 1 if any fails.",
        discussion: """
            Checks: the data directory (exists, mode 0700, owned by you); the master key file or passphrase file \
            (mode 0600); the database (integrity_check, foreign_key_check); the vault (unseals, every sealed value \
            opens, naming those that do not); the audit chain; the Docker engine (answers /_ping, API >= \
            \(DockerProbe.minimumAPIVersion)); free disk in the data directory (warns under 1 GiB); the clock. \
            Only reads, so it may run while a server holds the data directory.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var docker: DockerSocketOption
    @OptionGroup var digitalOceanAPI: DigitalOceanAPIOption

    @Flag(help: "Print the checks as JSON: {\"ok\": bool, \"checks\": [{\"name\", \"status\", \"detail\", \"fix\"}]}.")
    var json = false

    func run() async throws {
        _ = try data.prepareProcess(label: "agentbox.doctor")
        let checks = await Doctor.run(
            Doctor.Options(directory: data.directory, keys: data.masterKey, dockerSocket: docker.path, digitalOceanAPI: try digitalOceanAPI.resolved()))
        let failed = checks.contains { $0.status == .fail }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(Report(ok: !failed, checks: checks)), as: UTF8.self))
        } else {
            for check in checks {
                let label = switch check.status {
                case .ok: "ok  "
                case .warn: "WARN"
                case .fail: "FAIL"
                }
                print("\(label)  \(check.name): \(check.detail)")
                if let fix = check.fix, check.status != .ok { print("      fix: \(fix)") }
            }
            let count = { (status: Doctor.Check.Status) in checks.filter { $0.status == status }.count }
            print("\(count(.ok)) ok, \(count(.warn)) warning(s), \(count(.fail)) failed")
        }
        if failed { throw ExitCode(1) }
    }

    private struct Report: Encodable {
        let ok: Bool
        let checks: [Doctor.Check]
    }
}

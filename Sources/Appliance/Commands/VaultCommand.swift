import ArgumentParser
import Services
import Vault

extension APIRoute {
    static let rotateVault = APIRoute("POST", "/api/v1/admin/vault/rotate")
}

/// `agentbox vault`: status, rotation and verification of the secret store.
struct VaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault",
        abstract: "Inspect, rotate and verify the vault that seals credentials.",
        subcommands: [Status.self, Rotate.self, Verify.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show where the master key comes from and the data key versions (never a key).")

        @OptionGroup var data: DataOptions

        func run() async throws {
            let backend = try await data.openBackend(.offlineRead, label: "agentbox.vault")
            let status = try await backend.vault.status()
            print("master key: \(status.masterKeyKind.rawValue) from \(status.masterKeyOrigin)")
            print("active data key: version \(status.activeKeyVersion)")
            for key in status.keys {
                print("data key \(key.version): \(key.state.rawValue)")
            }
            if status.rotationPending {
                print("a rotation was interrupted; run `agentbox vault rotate` to finish it")
            }
        }
    }

    struct Rotate: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new data key, re-seal every secret with it, and retire the old key.",
            discussion: """
                Re-seals in small transactions; an interrupted rotation is finished by running it again. \
                While a server holds the data directory, asks that server to rotate instead \
                (POST /api/v1/admin/vault/rotate, with an admin token from --token, AGENTBOX_TOKEN or `agentbox login`).
                """)
        static let routes: [APIRoute] = [.rotateVault]

        @OptionGroup var data: DataOptions
        @OptionGroup var client: ClientOptions

        func run() async throws {
            if let pid = DataDirectoryLock.holder(of: data.directory) {
                return try await rotateThroughServer(pid: pid)
            }
            let backend = try await data.openBackend(.offlineWrite, label: "agentbox.vault")
            let report = try await backend.vault.rotate()
            let retired = report.retiredVersions.map(String.init).joined(separator: ", ")
            print("\(report.resumed ? "finished" : "rotated") to data key \(report.newKeyVersion): re-sealed \(report.resealed) secret(s), retired key version(s) \(retired.isEmpty ? "none" : retired)")
        }

        private func rotateThroughServer(pid: Int32) async throws {
            let api: APIClient
            let reply: APIClient.Reply
            do {
                api = try client.connect(routes: Self.routes)
                reply = try await api.send(.rotateVault)
            } catch let error as CLIError {
                throw CLIError("a server (pid \(pid)) holds \(data.directory.path), so the rotation must go through it: \(error.message)")
            }
            if client.json { return Output.raw(reply) }
            let report = try reply.json
            var retired = "none"
            if case .array(let versions)? = report.field("retired_versions"), !versions.isEmpty {
                retired = versions.map(\.jsonText).joined(separator: ", ")
            }
            let version = report.field("new_key_version")?.jsonText ?? "?"
            let resealed = report.field("resealed")?.jsonText ?? "0"
            print("the server (pid \(pid)) holds \(data.directory.path); rotated through it at \(api.server)")
            print("rotated to data key \(version): re-sealed \(resealed) secret(s), retired key version(s) \(retired)")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open every sealed secret and report each one that fails; exits 1 if any does.",
            discussion: "Only reads, so it may run while a server holds the data directory.")

        @OptionGroup var data: DataOptions

        func run() async throws {
            let backend = try await data.openBackend(.offlineRead, label: "agentbox.vault")
            let report = try await backend.vault.verify()
            for failure in report.failures {
                print("FAILED \(failure.context): \(failure.code): \(failure.message)")
            }
            print("\(report.opened) sealed secret(s) opened, \(report.failures.count) failed")
            if !report.failures.isEmpty { throw ExitCode(1) }
        }
    }
}

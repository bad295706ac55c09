import Foundation
import Logging
import Services
import Storage
import TestSupport
import Testing
import Vault

/// Opening a data directory: what each mode creates, requires and refuses.
struct BackendTests {
    private func keys(_ directory: DataDirectory) -> MasterKeyConfiguration {
        MasterKeyConfiguration(keyFilePath: directory.defaultKeyFilePath)
    }

    @Test func serveCreatesTheFolderDatabaseAndVault() async throws {
        let test = try await TestBackend.make()
        #expect(test.directory.hasDatabase)
        #expect(try test.database.schemaVersion() == ["001_initial_schema", "002_port_leases", "003_instance_runtime", "004_cloud_credentials", "005_toolbox_agents", "006_full_id_checks"])
        #expect(test.vault.activeKeyVersion == 1)
        #expect(try test.database.foreignKeyViolations().isEmpty)
    }

    @Test func offlineCommandsRefuseAFolderWithoutADatabase() async throws {
        let folder = try TemporaryDirectory()
        let directory = DataDirectory(path: folder.appending("empty"))
        for mode in [Backend.Mode.offlineRead, .offlineWrite] {
            let error = await #expect(throws: ServiceError.self) {
                try await Backend.open(directory, keys: keys(directory), mode: mode, logger: Logger(label: "test"))
            }
            #expect(error?.code == .notInitialized)
            #expect(error?.message.contains("agentbox serve") == true)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.path))
    }

    @Test func offlineWritesAreRefusedWhileAServerHoldsTheFolder() async throws {
        let test = try await TestBackend.make()
        let error = await #expect(throws: ServiceError.self) { try await test.reopen(mode: .offlineWrite) }
        #expect(error?.code == .dataDirectoryInUse)
        // Reading needs no lock.
        let reader = try await test.reopen(mode: .offlineRead)
        #expect(reader.vault.activeKeyVersion == 1)
    }

    @Test func migratingTwiceIsANoOp() async throws {
        let folder = try TemporaryDirectory()
        let directory = DataDirectory(path: folder.appending("data"))
        #expect(try await Maintenance.migrate(directory) == ["001_initial_schema", "002_port_leases", "003_instance_runtime", "004_cloud_credentials", "005_toolbox_agents", "006_full_id_checks"])
        #expect(try await Maintenance.migrate(directory) == [])
        let report = try await Maintenance.check(directory)
        #expect(report.isClean)
    }
}

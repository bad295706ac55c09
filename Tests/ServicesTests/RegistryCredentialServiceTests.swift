import Foundation
import Services
import Storage
import TestSupport
import Testing
import ToolboxProtocol

/// Registry logins: admins only, the password sealed (never stored or shown in clear), opened only into a
/// pull's desired state, and covered by the vault's verification and key rotation like every sealed column.
struct RegistryCredentialServiceTests {
    @Test func adminsStoreASealedLoginThatOnlyTheDesiredStateOfAPrivateImageCarries() async throws {
        let bed = try await CatalogTestBed.make()
        let password = "s3cret-\(UUID().uuidString)"
        await #expect(throws: ServiceError.self) {
            _ = try await bed.plane.registries.set(registry: "registry.example.com:5000", username: "ci", password: password, by: bed.ada)
        }
        let stored = try await bed.plane.registries.set(registry: "Registry.Example.com:5000", username: "ci", password: password, by: bed.admin)
        #expect(stored.registry == "registry.example.com:5000")
        #expect(!stored.encryptedPassword.isEmpty && stored.encryptedPassword.range(of: Data(password.utf8)) == nil)
        let file = try Data(contentsOf: URL(fileURLWithPath: bed.test.directory.databasePath))
        #expect(file.range(of: Data(password.utf8)) == nil, "the password is not in the database file")
        for bad in ["", "https://x", "host/path", "host:0", "host:70000", "a b"] {
            let error = await #expect(throws: ServiceError.self) {
                _ = try await bed.plane.registries.set(registry: bad, username: "ci", password: "p", by: bed.admin)
            }
            #expect(error?.code == .invalidRequest && error?.message.contains("host") == true, "\(bad)")
        }

        // A private image gets the login; a public one and another registry's image do not.
        let privateTool = try await bed.plane.catalog.create(
            {
                var definition = CatalogTestBed.definition("private")
                definition.dockerImageURL = "registry.example.com:5000/acme/mail:1"
                return definition
            }(), by: bed.admin)
        let publicTool = try await bed.tool()
        let toolbox = try await bed.toolbox(owner: bed.ada)
        let mail = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: privateTool.id, name: "mail", config: nil, by: bed.ada)
        let other = try await bed.plane.instances.create(toolboxID: toolbox.id, toolID: publicTool.id, name: "other", config: nil, by: bed.ada)
        let desired = try await bed.plane.toolboxControl.desiredState(toolbox.id).instances
        let login = try #require(desired.first { $0.instanceID == mail.id }?.registryAuth)
        #expect(login.serverAddress == "registry.example.com:5000" && login.username == "ci" && login.password == password)
        #expect(!String(describing: login).contains(password) && !String(reflecting: login).contains(password))
        #expect(desired.first { $0.instanceID == other.id }?.registryAuth == nil)

        // Rotation re-seals it; verification opens it; the list never shows it; a delete forgets it.
        #expect(try await bed.test.vault.verify().opened >= 1)
        _ = try await bed.test.vault.rotate()
        #expect(try await bed.test.vault.verify().failures.isEmpty)
        #expect(try await bed.plane.toolboxControl.desiredState(toolbox.id).instances.first { $0.instanceID == mail.id }?.registryAuth?.password == password)
        #expect(try await bed.plane.registries.list(by: bed.admin).map(\.username) == ["ci"])
        try await bed.plane.registries.delete(registry: "registry.example.com:5000", by: bed.admin)
        #expect(try await bed.plane.registries.list(by: bed.admin).isEmpty)
        #expect(try await bed.plane.toolboxControl.desiredState(toolbox.id).instances.allSatisfy { $0.registryAuth == nil })
        #expect(try await bed.auditActions().filter { $0.hasPrefix("registry_credential.") } == ["registry_credential.create", "registry_credential.delete"])
    }

    @Test func imageReferencesNameTheirRegistryAsDockerDoes() {
        #expect(ImageReference.registry(of: "127.0.0.1:5001/agentbox-test/private-echo:1") == "127.0.0.1:5001")
        #expect(ImageReference.registry(of: "ghcr.io/acme/gmail:1.2.0") == "ghcr.io")
        #expect(ImageReference.registry(of: "localhost/tool") == "localhost")
        #expect(ImageReference.registry(of: "acme/gmail:1") == "docker.io")
        #expect(ImageReference.registry(of: "busybox") == "docker.io")
    }
}

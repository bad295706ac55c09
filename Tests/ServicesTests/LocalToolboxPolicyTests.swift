import Foundation
import Services
import Storage
import TestSupport
import Testing

/// An admin can keep local toolboxes (the appliance's own Docker engine) for admins only.
struct LocalToolboxPolicyTests {
    @Test func adminsOnlyRefusesUsersAndLetsAdminsCreateLocalToolboxes() async throws {
        let test = try await TestBackend.make()
        let plane = ControlPlane(backend: test.backend, configuration: .init(localToolboxes: .admins))
        let (admin, _) = try await plane.users.create(name: "root", role: .admin, by: nil)
        let (user, _) = try await plane.users.create(name: "ada", role: .user, by: nil)

        let error = await #expect(throws: ServiceError.self) {
            try await plane.toolboxes.create(name: "mine", provider: "local", by: .user(user))
        }
        #expect(error?.code == .forbidden)
        #expect(error?.message.contains("only admins may create local toolboxes") == true)
        let created = try await plane.toolboxes.create(name: "shared", provider: "local", by: .user(admin))
        #expect(created.provider == .local)
    }

    @Test func everyoneIsTheDefault() async throws {
        let test = try await TestBackend.make()
        let plane = ControlPlane(backend: test.backend)
        let (user, _) = try await plane.users.create(name: "ada", role: .user, by: nil)
        #expect(try await plane.toolboxes.create(name: "mine", provider: "local", by: .user(user)).userID == user.id)
    }
}

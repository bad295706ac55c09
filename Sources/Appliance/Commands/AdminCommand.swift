import ArgumentParser
import Foundation
import Services

/// `agentbox admin`: offline set-up of the first users.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Create admin users offline (the first one, or one more when locked out).",
        subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an admin and print its API token once.",
            discussion: "Creates the data directory, database and vault if needed. Refuses while a server holds the data directory; stop it first.")

        @Argument(help: "The admin's user name.")
        var name: String

        @Flag(help: "Print {\"token\": \"...\", \"user_id\": \"...\"} instead of text, for scripts.")
        var json = false

        @OptionGroup var data: DataOptions

        func run() async throws {
            let backend = try await data.openBackend(.create, label: "agentbox.admin")
            let (user, issued) = try await ControlPlane(backend: backend).users.create(name: name, role: .admin, tokenName: "admin create", by: nil)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(["token": issued.token, "user_id": user.id.uuidString.lowercased()]), as: UTF8.self))
            } else {
                print("created admin \(user.name) (\(user.id.uuidString.lowercased()))")
                print("token (shown once; keep it safe): \(issued.token)")
            }
        }
    }
}

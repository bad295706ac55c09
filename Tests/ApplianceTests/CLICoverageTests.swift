import ArgumentParser
import Services
import TestSupport
import Testing

@testable import Appliance

/// The CLI can do everything the API can: every route has a client command that declares it.
struct CLICoverageTests {
    /// Routes for machines, not people: health and readiness checks, the metrics scrape, the API's own description, and
    /// the DTMAs' enrollment and credential hand-out, and the agent release droplets download.
    private static let serverOnly: Set<String> = [
        "GET /healthz", "GET /readyz", "GET /metrics", "GET /api/v1/openapi.json", "POST /api/v1/dtma/credentials", "POST /api/v1/dtma/enroll",
        "GET /api/v1/agent/package", "GET /api/v1/dtma/agent-binary", "POST /api/v1/dtma/heartbeat", "POST /api/v1/dtma/events",
        "GET /api/v1/dtma/calls", "POST /api/v1/dtma/calls/{id}/answer",
    ]

    @Test func everyRouteOfTheServerHasACLICommand() async throws {
        let test = try await TestBackend.make()
        let routes = Set(try HTTPServer.endpoints(ControlPlane(backend: test.backend)).map { "\($0.method.rawValue) \($0.path)" })
            .subtracting(Self.serverOnly)
        let covered = Set(APICommands.routes.map(\.description))
        #expect(!routes.isEmpty)
        #expect(routes.subtracting(covered).isEmpty, "routes with no CLI command: \(routes.subtracting(covered).sorted())")
        #expect(covered.subtracting(routes).isEmpty, "CLI commands calling routes the server does not have: \(covered.subtracting(routes).sorted())")
    }

    @Test func everyAPICommandDeclaresItsRoutesAndHasHelp() {
        let commands = APICommands.all()
        #expect(commands.count >= 40, "the walk of the command tree found only \(commands.count) API commands")
        for command in commands {
            #expect(!command.routes.isEmpty, "\(command) declares no route")
            #expect(!command.configuration.abstract.isEmpty, "\(command) has no --help abstract")
            #expect(command.helpMessage().contains("--server"), "\(command) takes --server")
        }
    }

    @Test func routePathsArePercentEncoded() throws {
        let route = APIRoute("DELETE", "/api/v1/toolbelt/{id}/permissions/{capability}")
        #expect(try route.path(["id": "abc", "capability": "a b/../c?d"]) == "/api/v1/toolbelt/abc/permissions/a%20b%2F..%2Fc%3Fd")
        #expect(throws: CLIError.self) { try route.path(["id": "abc"]) }
    }
}

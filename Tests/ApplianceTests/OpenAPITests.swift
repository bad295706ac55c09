import Foundation
import Services
import TestSupport
import Testing

@testable import Appliance

/// The OpenAPI description stays true: every route is in it, nothing else is, and it is valid OpenAPI 3.1.
struct OpenAPITests {
    private static let methods = ["get", "put", "post", "delete", "patch", "head", "options"]

    /// (METHOD, path) of every operation in the served document.
    private func operations(_ document: [String: Any]) -> Set<String> {
        var found: Set<String> = []
        for (path, item) in document["paths"] as? [String: Any] ?? [:] {
            for method in (item as? [String: Any] ?? [:]).keys where Self.methods.contains(method) {
                found.insert("\(method.uppercased()) \(path)")
            }
        }
        return found
    }

    /// What the fuzzing drill found: the server took null for optional fields the document said must be strings, and
    /// counted lengths in grapheme clusters where the document's maxLength counts code points.
    @Test func optionalNullsAndLengthsAreAsTheDocumentSays() async throws {
        let api = try await TestAPI.start()
        let document = try await api.request("GET", "/api/v1/openapi.json", token: nil).json
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any]
        let agentCreate = try #require(schemas?["AgentCreate"] as? [String: Any])
        let description = (agentCreate["properties"] as? [String: Any])?["description"] as? [String: Any]
        #expect(description?["type"] as? [String] == ["string", "null"])
        let name = (agentCreate["properties"] as? [String: Any])?["name"] as? [String: Any]
        #expect(name?["type"] as? String == "string", "a required field stays non-null")
        let created = try await api.request("POST", "/api/v1/agents", token: api.adminToken, body: ["name": "nulls", "description": NSNull()])
        #expect(created.status == 201)
        let role = ((schemas?["UserCreate"] as? [String: Any])?["properties"] as? [String: Any])?["role"] as? [String: Any]
        #expect((role?["enum"] as? [Any])?.contains { $0 is NSNull } == true, "an optional enum takes null too")
        #expect(try await api.request("POST", "/api/v1/users", token: api.adminToken, body: ["name": "nulls", "role": NSNull()]).status == 201)
        #expect(try await api.request("POST", "/api/v1/agents", token: api.adminToken, body: ["name": NSNull()]).status == 400)
        // 60 x "e" + combining acute: 60 characters on screen, 120 code points; the limit is 100.
        let combining = String(repeating: "e\u{301}", count: 60)
        let long = try await api.request("POST", "/api/v1/agents", token: api.adminToken, body: ["name": combining])
        #expect(long.status == 400 && String(decoding: long.body, as: UTF8.self).contains("at most 100"))
        try await api.stop()
    }

    @Test func theServedDocumentDescribesExactlyTheRoutes() async throws {
        let test = try await TestBackend.make()
        let endpoints = try HTTPServer.endpoints(ControlPlane(backend: test.backend))
        let routes = Set(endpoints.map { "\($0.method.rawValue) \($0.path)" })
        #expect(routes.count == endpoints.count, "two endpoints share a method and path")

        let api = try await TestAPI.start()
        let reply = try await api.request("GET", "/api/v1/openapi.json", token: nil)
        try await api.stop()
        #expect(reply.status == 200)
        #expect(reply.json["openapi"] as? String == "3.1.0")
        let described = operations(reply.json)
        #expect(routes.subtracting(described).isEmpty, "routes missing from the spec: \(routes.subtracting(described).sorted())")
        #expect(described.subtracting(routes).isEmpty, "spec operations with no route: \(described.subtracting(routes).sorted())")

        let publicRoutes = Set(endpoints.filter { $0.access == .anyone }.map { "\($0.method.rawValue) \($0.path)" })
        for (path, item) in reply.json["paths"] as? [String: Any] ?? [:] {
            for (method, operation) in item as? [String: Any] ?? [:] where Self.methods.contains(method) {
                let key = "\(method.uppercased()) \(path)"
                let security = (operation as? [String: Any])?["security"] as? [Any]
                #expect((security?.isEmpty == true) == publicRoutes.contains(key), "\(key): the spec's security must match the route's access")
            }
        }
    }

    @Test func theDocumentIsValidOpenAPI() async throws {
        let test = try await TestBackend.make()
        let file = test.folder.appending("openapi.json")
        try writeFile(atPath: file, contents: try HTTPServer.openAPIDocument())
        let log = test.folder.appending("validator.log")
        try writeFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import json, sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')", file,
        ]
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        process.waitUntilExit()
        let output = try String(contentsOfFile: log, encoding: .utf8)
        #expect(process.terminationStatus == 0, "openapi-spec-validator: \(output)")
        #expect(output.contains("valid"))
    }
}

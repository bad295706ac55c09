import Foundation
import HTTPClient
import TestSupport
import Testing

/// `serve --tls`: HTTPS with a key made once in the data directory, which clients (droplets) pin.
struct TLSServeTests {
    @Test func serveSpeaksTLSWithAKeptKeyThatAPinnedClientTrustsAndNoOtherKeyPasses() async throws {
        let folder = try TemporaryDirectory()
        let data = folder.appending("data")
        let agentbox = AgentboxProcess(folder: folder)
        let server = try await agentbox.serve(["--data-dir", data, "--reconcile-interval", "0", "--tls", "--public-url", "https://agentbox.example.com:8420"])
        let pinRange = try #require(server.output.range(of: #"TLS public key pin sha256//[A-Za-z0-9+/=]{44}"#, options: .regularExpression))
        let pin = String(server.output[pinRange].split(separator: " ").last!)
        #expect(server.output.contains("listening on https://127.0.0.1:\(server.port)"))

        let pinned = HTTPClient(configuration: .init(timeout: .seconds(5), pinnedPublicKey: pin))
        let health = try await pinned.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/healthz"))
        #expect(health.status == 200)
        // Another key, or no pin (the certificate is self-signed), or plain HTTP: refused.
        let wrong = HTTPClient(configuration: .init(timeout: .seconds(5), pinnedPublicKey: "sha256//" + Data(repeating: 7, count: 32).base64EncodedString()))
        await #expect(throws: HTTPClientError.self) { _ = try await wrong.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/healthz")) }
        await #expect(throws: HTTPClientError.self) { _ = try await HTTPClient().send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/healthz")) }
        let plain = try? await HTTPClient(configuration: .init(timeout: .seconds(5))).send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/healthz"))
        #expect(plain?.status != 200)

        // The key is the data directory's: 0600, and the same pin after a restart.
        let attributes = try FileManager.default.attributesOfItem(atPath: data + "/tls/server-key.pem")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        _ = try await server.stop()
        let again = try await agentbox.serve(["--data-dir", data, "--reconcile-interval", "0", "--tls"])
        #expect(again.output.contains(pin), "the pin survives a restart")
        _ = try await again.stop()
    }
}

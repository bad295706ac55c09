import Foundation
import HTTPClient
import Testing

/// The libcurl client against real servers on loopback.
struct HTTPClientTests {
    private let client = HTTPClient()

    private func json(_ response: HTTPResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: response.data) as? [String: Any])
    }

    private func failure(_ request: HTTPRequest, client: HTTPClient? = nil) async -> HTTPClientError? {
        do throws(HTTPClientError) {
            _ = try await (client ?? self.client).send(request)
            return nil
        } catch {
            return error
        }
    }

    @Test func getSendsHeadersAndReadsStatusHeadersAndBody() async throws {
        let server = try await LoopbackServer.tcp()
        defer { server.stop() }
        let response = try await client.send(
            HTTPRequest(.get, url: server.url + "/echo?x=1", headers: ["Accept": "application/json", "X-Trace": "abc"]))
        #expect(response.status == 200)
        #expect(response.isSuccess)
        #expect(response.headers["content-type"] == "application/json", "header lookup ignores case")
        #expect(response.headers["X-TEST-HEADER"] == "Yes")
        let echo = try json(response)
        #expect(echo["method"] as? String == "GET")
        #expect(echo["path"] as? String == "/echo?x=1")
        let headers = try #require(echo["headers"] as? [String: String])
        #expect(headers["x-trace"] == "abc")
        #expect(headers["user-agent"] == "agentbox")
        #expect(headers["expect"] == nil, "no 100-continue round trip")
    }

    @Test func postPutPatchAndDeleteCarryTheirJSONBody() async throws {
        let server = try await LoopbackServer.tcp()
        defer { server.stop() }
        let body = Data(#"{"name":"researcher","n":[1,2,3]}"#.utf8)
        for method: HTTPRequest.Method in [.post, .put, .patch, .delete] {
            let response = try await client.send(
                HTTPRequest(method, url: server.url + "/echo", headers: ["Content-Type": "application/json"], body: body))
            let echo = try json(response)
            #expect(echo["method"] as? String == method.rawValue)
            #expect(echo["body"] as? String == String(decoding: body, as: UTF8.self))
            #expect((echo["headers"] as? [String: String])?["content-type"] == "application/json")
        }
        let empty = try json(try await client.send(HTTPRequest(.post, url: server.url + "/echo")))
        #expect((empty["headers"] as? [String: String])?["content-length"] == "0", "an empty POST says so")
        let large = [UInt8](repeating: 0x61, count: 3 << 20)
        let echoed = try json(try await client.send(HTTPRequest(.post, url: server.url + "/echo", body: large)))
        #expect((echoed["body"] as? String)?.utf8.count == large.count)
    }

    @Test func everyStatusIsAResponseNotAnError() async throws {
        let server = try await LoopbackServer.tcp()
        defer { server.stop() }
        for status in [201, 204, 400, 401, 404, 409, 422, 500, 503] {
            let response = try await client.send(HTTPRequest(.get, url: server.url + "/status/\(status)"))
            #expect(response.status == status)
            #expect(response.isSuccess == (200..<300).contains(status))
            if status == 204 { #expect(response.body.isEmpty) }
        }
        let head = try await client.send(HTTPRequest(.head, url: server.url + "/echo"))
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
    }

    @Test func aRefusedConnectionIsCouldNotConnectAndNeverShowsTheAuthorizationHeader() async throws {
        let port = try unusedPort()
        let secret = "abx_u_not-a-real-token-but-secret"
        let error = await failure(
            HTTPRequest(.get, url: "http://127.0.0.1:\(port)/api/v1/me?token=querysecret", headers: ["Authorization": "Bearer \(secret)"]))
        let failure = try #require(error)
        #expect(failure.code == .couldNotConnect)
        #expect(failure.message.contains("127.0.0.1:\(port)/api/v1/me"), "\(failure.message)")
        #expect(failure.message.contains("onnect"), "libcurl's explanation is included: \(failure.message)")
        #expect(!failure.message.contains(secret))
        #expect(!failure.message.contains("querysecret"), "the query may carry secrets")
        #expect(failure.curlCode == 7)
    }

    @Test func aSlowServerTimesOut() async throws {
        let server = try await LoopbackServer.tcp()
        defer { server.stop() }
        let started = ContinuousClock.now
        let error = await failure(HTTPRequest(.get, url: server.url + "/sleep?ms=60000", timeout: .milliseconds(300)))
        #expect(error?.code == .timedOut, "\(String(describing: error))")
        #expect(ContinuousClock.now - started < .seconds(30), "the client gave up long before the server's 60 s answer")

        let patient = try await client.send(HTTPRequest(.get, url: server.url + "/sleep?ms=200", timeout: .seconds(5)))
        #expect(patient.status == 200)
    }

    @Test func aUnixSocketServerAnswers() async throws {
        let server = try await LoopbackServer.unix()
        defer { server.stop() }
        let overSocket = HTTPClient(configuration: .init(unixSocketPath: server.socketPath))
        let response = try await overSocket.send(HTTPRequest(.post, url: "http://localhost/v1.43/containers/create?name=x", body: Array("{}".utf8)))
        #expect(response.status == 200)
        let echo = try json(response)
        #expect(echo["path"] as? String == "/v1.43/containers/create?name=x")
        #expect((echo["headers"] as? [String: String])?["host"] == "localhost")

        let missing = HTTPClient(configuration: .init(unixSocketPath: server.folder.appending("absent.sock")))
        let error = await failure(HTTPRequest(.get, url: "http://localhost/_ping"), client: missing)
        #expect(error?.code == .couldNotConnect)
        #expect(error?.message.contains("absent.sock") == true, "the message names the socket: \(String(describing: error))")
    }

    @Test func badURLsAndHeadersAreRefusedBeforeSending() async throws {
        for url in ["not a url", "ftp://127.0.0.1/file", "file:///etc/passwd", "http://[::1"] {
            let error = await failure(HTTPRequest(.get, url: url))
            #expect(error?.code == .invalidURL, "\(url): \(String(describing: error))")
        }
        let injected = await failure(HTTPRequest(.get, url: "http://127.0.0.1:1/", headers: ["X-Evil": "a\r\nInjected: secretvalue"]))
        #expect(injected?.code == .invalidRequest)
        #expect(injected?.message.contains("X-Evil") == true)
        #expect(injected?.message.contains("secretvalue") == false, "a header value never appears in an error")
    }

    @Test func aBodyOverTheLimitFails() async throws {
        let server = try await LoopbackServer.tcp()
        defer { server.stop() }
        let small = HTTPClient(configuration: .init(maximumResponseSize: 1_000))
        let error = await failure(HTTPRequest(.get, url: server.url + "/big?bytes=100000"), client: small)
        #expect(error?.code == .responseTooLarge)
        #expect(try await small.send(HTTPRequest(.get, url: server.url + "/big?bytes=500")).status == 200)
    }

    @Test func cancellingTheTaskAbortsTheTransfer() async throws {
        let server = try await LoopbackServer.tcp()
        defer { server.stop() }
        let client = self.client
        let url = server.url
        let started = ContinuousClock.now
        let task = Task { try await client.send(HTTPRequest(.get, url: url + "/sleep?ms=60000")) }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let result = await task.result
        #expect((try? result.get()) == nil)
        #expect((result.failureError as? HTTPClientError)?.code == .cancelled)
        #expect(ContinuousClock.now - started < .seconds(30), "the transfer ended long before the server's 60 s answer")
    }

    @Test func manyRequestsRunInParallelOffTheCooperativePool() async throws {
        let server = try await LoopbackServer.tcp()
        defer { server.stop() }
        let client = self.client
        let url = server.url
        let started = ContinuousClock.now
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask { try await client.send(HTTPRequest(.get, url: url + "/sleep?ms=2000")).status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 16))
        // One after another they would take 32 s; overlapping, about 2 s. Half of the serial time leaves room for a busy machine.
        #expect(ContinuousClock.now - started < .seconds(16), "16 two-second requests overlap instead of queueing on the cooperative pool")
    }
}

extension Result {
    fileprivate var failureError: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

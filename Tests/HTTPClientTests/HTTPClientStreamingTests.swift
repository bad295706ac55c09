import Foundation
import HTTPClient
import Testing

/// `HTTPClient.stream`: the head at once, the body piece by piece, and an end when the reader stops.
struct HTTPClientStreamingTests {
    private let client = HTTPClient()

    @Test func theHeadArrivesBeforeTheBodyEndsAndPiecesComeAsSent() async throws {
        let server = try await LoopbackServer.tcp()
        defer { server.stop() }
        let started = ContinuousClock.now
        let response = try await client.stream(HTTPRequest(.get, url: server.url + "/drip?lines=5&ms=1500"))
        #expect(response.status == 200)
        #expect(response.isSuccess)
        #expect(response.headers["content-type"] == "application/x-ndjson")
        // Bounds leave room for a loaded machine: they only prove the head did not wait for the 7.5 s body.
        #expect(ContinuousClock.now - started < .seconds(4), "returned at the head, not after the 7.5 s body")

        var text = ""
        var firstPieceAt: Duration?
        for try await piece in response.body {
            if firstPieceAt == nil { firstPieceAt = ContinuousClock.now - started }
            text += String(decoding: piece, as: UTF8.self)
        }
        let total = ContinuousClock.now - started
        #expect(text == (0..<5).map { #"{"line": \#($0)}"# + "\n" }.joined())
        let first = try #require(firstPieceAt)
        #expect(first < total - .seconds(3), "the first line came long before the last (\(first) of \(total))")
    }

    @Test func anErrorStatusIsAResponseWithItsBody() async throws {
        let server = try await LoopbackServer.tcp()
        defer { server.stop() }
        let response = try await client.stream(HTTPRequest(.get, url: server.url + "/status/404"))
        #expect(response.status == 404)
        #expect(!response.isSuccess)
        let body = String(decoding: try await response.collect(), as: UTF8.self)
        #expect(body.contains("\"404\""), "\(body)")
    }

    @Test func aUnixSocketServerStreams() async throws {
        let server = try await LoopbackServer.unix()
        defer { server.stop() }
        let overSocket = HTTPClient(configuration: .init(unixSocketPath: server.socketPath))
        let response = try await overSocket.stream(HTTPRequest(.get, url: "http://localhost/drip?lines=3&ms=10"))
        #expect(String(decoding: try await response.collect(), as: UTF8.self).split(separator: "\n").count == 3)
    }

    @Test func noServerThrowsBeforeAnyHead() async throws {
        let port = try unusedPort()
        do throws(HTTPClientError) {
            _ = try await client.stream(HTTPRequest(.get, url: "http://127.0.0.1:\(port)/drip"))
            Issue.record("nothing listens there")
        } catch {
            #expect(error.code == .couldNotConnect)
        }
    }

    @Test func droppingTheBodyAbortsTheTransfer() async throws {
        let server = try await LoopbackServer.tcp()
        defer { server.stop() }
        // Once the reader lets go of the body (here: at the end of the helper), the transfer stops.
        func readTwoPieces() async throws -> Int {
            let response = try await client.stream(HTTPRequest(.get, url: server.url + "/drip?lines=600&ms=100"))
            var pieces = 0
            for try await _ in response.body {
                pieces += 1
                if pieces == 2 { break }
            }
            return pieces
        }
        #expect(try await readTwoPieces() == 2)
        #expect(await fileAppears(server.dripAbortedPath, within: .seconds(10)), "the server saw the client hang up")
    }

    @Test func cancellingBeforeTheHeadAbortsTheRequest() async throws {
        let server = try await LoopbackServer.tcp()
        defer { server.stop() }
        let client = self.client
        let url = server.url
        let started = ContinuousClock.now
        let task = Task { () async throws(HTTPClientError) -> HTTPStreamingResponse in
            try await client.stream(HTTPRequest(.get, url: url + "/sleep?ms=60000"))
        }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let result = await task.result
        guard case .failure(let error) = result else {
            Issue.record("the head cannot have come")
            return
        }
        #expect((error as? HTTPClientError)?.code == .cancelled, "\(error)")
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test func aTimeOutEndsTheBodyWithAnError() async throws {
        let server = try await LoopbackServer.tcp()
        defer { server.stop() }
        let response = try await client.stream(HTTPRequest(.get, url: server.url + "/drip?lines=600&ms=100", timeout: .milliseconds(800)))
        #expect(response.status == 200)
        var received = 0
        do {
            for try await piece in response.body { received += piece.count }
            Issue.record("the body cannot end normally within the time limit")
        } catch let error as HTTPClientError {
            #expect(error.code == .timedOut)
        }
        #expect(received > 0)
    }

    private func fileAppears(_ path: String, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if FileManager.default.fileExists(atPath: path) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

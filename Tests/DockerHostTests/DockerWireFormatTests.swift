import Foundation
import Testing

@testable import DockerHost

/// The pieces of the wire format that need no engine: references, frames, lines, filters, versions.
struct DockerWireFormatTests {
    @Test(arguments: [
        ("127.0.0.1:5000/agentbox-test/echo:1", "127.0.0.1:5000/agentbox-test/echo", "1"),
        ("127.0.0.1:5000/agentbox-test/echo", "127.0.0.1:5000/agentbox-test/echo", "latest"),
        ("busybox", "busybox", "latest"),
        ("library/busybox:1.36", "library/busybox", "1.36"),
        ("registry.example.com/team/tool@sha256:abc", "registry.example.com/team/tool", "sha256:abc"),
        ("localhost:5000/tool", "localhost:5000/tool", "latest"),
    ])
    func referencesSplitIntoRepositoryAndTag(reference: String, repository: String, tag: String) {
        let parsed = ImageReference(reference)
        #expect(parsed.repository == repository)
        #expect(parsed.tag == tag)
    }

    @Test func logFramesAreDemultiplexed() {
        func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
            let bytes = Array(text.utf8)
            let n = UInt32(bytes.count)
            return [stream, 0, 0, 0, UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + bytes
        }
        let framed = frame(1, "out\n") + frame(2, "err\n") + frame(1, String(repeating: "x", count: 300) + "\n")
        #expect(String(decoding: LogFrames.demultiplex(framed), as: UTF8.self) == "out\nerr\n" + String(repeating: "x", count: 300) + "\n")
        #expect(LogFrames.demultiplex(Array("plain tty output\n".utf8)) == Array("plain tty output\n".utf8), "a terminal's output is raw")
        #expect(LogFrames.demultiplex([]) == [])
        #expect(LogFrames.demultiplex(frame(1, "cut short").dropLast(3)) == Array("cut sh".utf8))
    }

    @Test func linesAreSplitAcrossPieces() {
        var lines = JSONLines()
        #expect(lines.append(Array("{\"a\":".utf8)).isEmpty)
        #expect(lines.append(Array("1}\n\n{\"b\":2}\r\n{\"c\"".utf8)) == [Array("{\"a\":1}".utf8), Array("{\"b\":2}\r".utf8)])
        #expect(lines.append(Array(":3}".utf8)).isEmpty)
        #expect(lines.finish() == [Array("{\"c\":3}".utf8)])
        #expect(lines.finish().isEmpty)
    }

    @Test func pullLinesBecomeProgressOrFailures() throws {
        let downloading = try JSONDecoder().decode(
            PullMessage.self,
            from: Data(#"{"status":"Downloading","progressDetail":{"current":1024,"total":4096},"progress":"[=>  ]","id":"abc123"}"#.utf8))
        #expect(downloading.progress == PullProgress(status: "Downloading", id: "abc123", current: 1024, total: 4096))
        #expect(downloading.failure == nil)
        let failed = try JSONDecoder().decode(
            PullMessage.self, from: Data(#"{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown (short)"}"#.utf8))
        #expect(failed.failure == "manifest unknown")
    }

    @Test func labelFiltersAreDockersJSON() throws {
        let text = DockerClient.filters(labels: ["agentbox.toolbox": "tb-1", "agentbox.instance": nil], ["type": ["container"]])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String]])
        #expect(object == ["label": ["agentbox.instance", "agentbox.toolbox=tb-1"], "type": ["container"]])
        #expect(DockerClient.filters(labels: [:]) == "{}")
        #expect(URLText.encode(text).allSatisfy { $0.isLetter || $0.isNumber || "%-._~".contains($0) })
        #expect(URLText.pathPart("127.0.0.1:5000/a/b@sha256:00") == "127.0.0.1:5000/a/b@sha256:00")
        #expect(URLText.pathPart("a b?c#d") == "a%20b%3Fc%23d")
    }

    @Test func theAPIVersionIsTheEnginesCappedAtTheNewestKnown() throws {
        func engine(_ api: String, min: String? = "1.12") -> DockerVersion {
            DockerVersion(version: "x", apiVersion: api, minAPIVersion: min, os: "linux", arch: "amd64", kernelVersion: nil)
        }
        #expect(try DockerClient.agree(engine: engine("1.41")) == APIVersion(major: 1, minor: 41))
        #expect(try DockerClient.agree(engine: engine("1.43")) == APIVersion(major: 1, minor: 43))
        #expect(try DockerClient.agree(engine: engine("1.52", min: "1.24")) == DockerClient.newestAPIVersion)
        #expect(try DockerClient.agree(engine: engine("1.60", min: "1.50")) == APIVersion(major: 1, minor: 50), "the engine's minimum wins")
        #expect(throws: DockerError.self) { try DockerClient.agree(engine: engine("1.40")) }
        do {
            _ = try DockerClient.agree(engine: engine("1.39"))
        } catch {
            #expect(error.code == .engineTooOld)
            #expect(error.message.contains("1.41"))
        }
        #expect(APIVersion("1.9")! < APIVersion("1.41")!, "versions compare as numbers")
        #expect(APIVersion("latest") == nil)
    }

    @Test func registryCredentialsNeverShowTheirPassword() throws {
        let auth = RegistryAuth(username: "robot", password: "canary-s3cret/+=", serveraddress: "registry.example.com")
        #expect(!auth.description.contains("canary"))
        #expect(!String(reflecting: auth).contains("canary"))
        var dumped = ""
        dump(auth, to: &dumped)
        #expect(!dumped.contains("canary"), "\(dumped)")
        #expect(!"\(auth)".contains("canary"))

        // The header is base64url (with padding) of Docker's JSON, as the engine decodes it.
        let header = auth.headerValue
        #expect(!header.contains("+") && !header.contains("/"))
        let standard = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let json = try #require(Data(base64Encoded: standard))
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: String])
        #expect(object == ["username": "robot", "password": "canary-s3cret/+=", "serveraddress": "registry.example.com"])
    }

    @Test func errorsCarryDockersMessageAndAHint() {
        let busy = DockerError.answer(
            status: 500,
            body: Array(#"{"message":"driver failed programming external connectivity on endpoint x: Error starting userland proxy: listen tcp4 127.0.0.1:9: bind: address already in use"}"#.utf8),
            "docker start x")
        #expect(busy.code == .portInUse)
        #expect(busy.message.hasPrefix("docker start x: driver failed"))
        #expect(busy.dockerMessage?.hasSuffix("address already in use") == true)
        #expect(DockerError.answer(status: 404, body: Array(#"{"message":"No such container: x"}"#.utf8), "op").code == .notFound)
        #expect(DockerError.answer(status: 409, body: [], "op").message == "op: HTTP 409 without a message")
        let auth = DockerError.answer(status: 500, body: Array(#"{"message":"Head \"http://r/v2/\": no basic auth credentials"}"#.utf8), "pull", pull: true)
        #expect(auth.code == .pullFailed)
        #expect(auth.message.contains("check the registry username and password"))
    }

    @Test func dockerTimesParseWithNanoseconds() throws {
        let date = try #require(DockerTime.parse("2026-11-25T10:16:37.261433361Z"))
        #expect(abs(date.timeIntervalSince1970 - 1_795_601_797.261433361) < 0.001)
        #expect(DockerTime.parse("0001-01-01T00:00:00Z") == nil)
        #expect(DockerTime.parse("2026-11-25T10:16:37Z") != nil)
        #expect(DockerTime.parse("") == nil)
    }

    @Test func theSpecLocksTheContainerDown() throws {
        var spec = ContainerSpec(name: "n", image: "i", labels: ["a": "b"], containerPort: 8080, hostPort: 18080)
        spec.restartPolicy = .unlessStopped
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(spec.createBody)) as? [String: Any])
        let host = try #require(json["HostConfig"] as? [String: Any])
        #expect(host["SecurityOpt"] as? [String] == ["no-new-privileges"])
        #expect(host["CapDrop"] as? [String] == ["ALL"])
        #expect((host["RestartPolicy"] as? [String: Any])?["Name"] as? String == "unless-stopped")
        #expect((host["RestartPolicy"] as? [String: Any])?["MaximumRetryCount"] == nil, "only on-failure takes a count")
        #expect(json["Env"] == nil, "no environment unless given")
        let bindings = try #require(host["PortBindings"] as? [String: [[String: String]]])
        #expect(bindings == ["8080/tcp": [["HostIp": "127.0.0.1", "HostPort": "18080"]]])
    }
}

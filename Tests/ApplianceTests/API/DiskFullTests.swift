import Foundation
import TestSupport
import Testing

/// A full disk under the data directory: writes are refused with 503 `disk_full`, reads go on, nothing acknowledged
/// is lost, and writes work again once there is space (the data directory on a small tmpfs; needs root to mount it).
struct DiskFullTests {
    @Test func aFullDiskRefusesWritesWith503AndLosesNothing() async throws {
        let folder = try TemporaryDirectory()
        let data = folder.appending("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        _ = try await Command.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", data], in: folder)
        defer { _ = try? Process.run(URL(fileURLWithPath: "/usr/bin/umount"), arguments: ["-l", data]).waitUntilExit() }
        let api = try await TestAPI.start(folder: folder)
        let before = try await api.request("POST", "/api/v1/agents", token: api.adminToken, body: ["name": "before"])
        #expect(before.status == 201)
        // A token not used yet: its first use stamps last_used_at, which must not fail a read on a full disk.
        let fresh = try #require(try await api.request("POST", "/api/v1/tokens", token: api.adminToken, body: ["name": "fresh"]).string("token"))

        // dd stops with "No space left on device" (a non-zero exit) once the tmpfs is full.
        _ = try? await Command.run(["dd", "if=/dev/zero", "of=\(data)/filler", "bs=1M"], in: folder)
        var refused: TestAPI.Reply?
        for attempt in 0..<200 where refused == nil {
            let reply = try await api.request("POST", "/api/v1/agents", token: api.adminToken, body: ["name": "during-\(attempt)"])
            #expect([201, 503].contains(reply.status), "a write on a full disk answered \(reply.status)")
            if reply.status == 503 { refused = reply }
        }
        let reply = try #require(refused, "no write was refused with the disk full")
        #expect(reply.errorCode == "disk_full")
        #expect(String(decoding: reply.body, as: UTF8.self).contains("disk of the data directory is full"))
        #expect(reply.headers["retry-after"] != nil)
        #expect(try await api.request("GET", "/api/v1/agents", token: api.adminToken).status == 200, "reads go on")
        #expect(try await api.request("GET", "/api/v1/me", token: fresh).status == 200, "a read with a token's first use goes on")
        #expect(try await api.request("GET", "/healthz", token: nil).status == 200)

        try FileManager.default.removeItem(atPath: "\(data)/filler")
        let after = try await api.request("POST", "/api/v1/agents", token: api.adminToken, body: ["name": "after"])
        #expect(after.status == 201)
        try await api.stop()
        let again = try await api.restarted(serveArguments: ["--reconcile-interval", "0"])
        for written in [before, after] {
            let id = try #require(written.string("id"))
            #expect(try await again.request("GET", "/api/v1/agents/\(id)", token: again.adminToken).status == 200, "an acknowledged write was lost")
        }
        try await again.stop()
        let check = try await Command.run(["sqlite3", "\(data)/agentbox.sqlite", "PRAGMA integrity_check"], in: folder)
        #expect(check.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
    }
}

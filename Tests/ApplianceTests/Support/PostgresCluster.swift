import Foundation
import TestSupport
import Testing

/// A throwaway cluster of Debian's PostgreSQL on a unix socket in a temporary folder (no TCP at all), standing in
/// for the hosted stack's database. Run as root, the server runs as the `postgres` user, which initdb insists on.
///
/// The server is this process's own child (not daemonised by pg_ctl): Foundation's Process sees a child end only
/// when every process holding its descriptors has, so a server started by pg_ctl would keep pg_ctl "running".
final class PostgresCluster: @unchecked Sendable {
    // @unchecked: `server` is set once by `start()` before the value is shared, and only signalled afterwards.
    let folder: TemporaryDirectory
    private let bin: String
    private let owner: [String]
    private let server = Process()

    /// The socket folder and the port that names its socket.
    var socketFolder: String { folder.path }
    let port = 5432

    /// A `postgres://` URL for `agentbox import postgres`.
    var url: String { "postgres://postgres@/postgres?host=\(socketFolder)" }

    /// Starts a new cluster and waits until it answers; throws, saying what to install, when PostgreSQL is missing.
    static func start() async throws -> PostgresCluster {
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted()
        guard let version = versions.last else {
            throw TestEnvironmentFailure("PostgreSQL is not installed: scripts/install-deps.sh test installs Debian's postgresql")
        }
        let cluster = try PostgresCluster(bin: "/usr/lib/postgresql/\(version)/bin")
        try await cluster.run(cluster.owner + [cluster.bin + "/initdb", "-D", cluster.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
        let command = cluster.owner + [
            cluster.bin + "/postgres", "-D", cluster.data, "-k", cluster.socketFolder, "-p", String(cluster.port), "-c", "listen_addresses=", "-c", "fsync=off",
        ]
        cluster.server.executableURL = URL(fileURLWithPath: command[0].hasPrefix("/") ? command[0] : "/usr/bin/\(command[0])")
        cluster.server.arguments = Array(command.dropFirst())
        let log = cluster.socketFolder + "/server.log"
        try writeFile(atPath: log, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: log))
        cluster.server.standardOutput = handle
        cluster.server.standardError = handle
        try cluster.server.run()
        for _ in 0..<300 {
            if (try? await cluster.psql("SELECT 1")) != nil { return cluster }
            guard cluster.server.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        await cluster.stop()
        throw TestEnvironmentFailure("PostgreSQL did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    private init(bin: String) throws {
        self.bin = bin
        folder = try TemporaryDirectory("agentbox-postgres")
        if geteuid() == 0 {
            owner = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
            guard chown(folder.path, Self.postgresUser.uid, Self.postgresUser.gid) == 0 else {
                throw TestEnvironmentFailure("cannot hand \(folder.path) to the postgres user")
            }
        } else {
            owner = []
        }
    }

    private var data: String { socketFolder + "/data" }

    private static var postgresUser: (uid: uid_t, gid: gid_t) {
        guard let entry = getpwnam("postgres") else { return (0, 0) }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// Runs SQL through psql, stopping at the first error; what psql printed.
    @discardableResult
    func psql(_ sql: String) async throws -> String {
        try await run([bin + "/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", socketFolder, "-p", String(port), "-U", "postgres", "-d", "postgres"], input: sql)
    }

    /// Stops the server (a fast shutdown, then a kill after 10 s); the folder goes with this value.
    func stop() async {
        guard server.isRunning else { return }
        server.interrupt()
        for _ in 0..<200 where server.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        if server.isRunning { kill(server.processIdentifier, SIGKILL) }
    }

    @discardableResult
    private func run(_ command: [String], input: String? = nil) async throws -> String {
        try await Command.run(command, input: input, in: folder)
    }
}

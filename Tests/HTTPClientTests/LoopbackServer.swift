import Foundation
import TestSupport
import Testing

/// A small Python HTTP server on loopback (TCP or a unix socket) that echoes requests as JSON.
///
/// Paths: `/echo` (method, path, headers and body back), `/status/N`, `/sleep?ms=N`, `/big?bytes=N`,
/// `/drip?lines=N&ms=M` (N JSON lines, one every M ms, chunked; a client that hangs up early leaves the
/// file `dripAbortedPath`).
struct LoopbackServer {
    let folder: TemporaryDirectory
    let process: Process
    /// The TCP port, or 0 for a unix socket server.
    let port: Int
    /// The socket path of a unix socket server.
    let socketPath: String

    /// Exists once a `/drip` client hung up before the last line.
    var dripAbortedPath: String { folder.appending("ready.aborted") }

    /// The base URL for TCP servers.
    var url: String { "http://127.0.0.1:\(port)" }

    private init(folder: TemporaryDirectory, process: Process, port: Int, socketPath: String) {
        self.folder = folder
        self.process = process
        self.port = port
        self.socketPath = socketPath
    }

    /// Starts a server on a free loopback port.
    static func tcp() async throws -> LoopbackServer { try await start(unix: false) }

    /// Starts a server on a unix socket in a temporary folder.
    static func unix() async throws -> LoopbackServer { try await start(unix: true) }

    private static func start(unix: Bool) async throws -> LoopbackServer {
        let folder = try TemporaryDirectory("agentbox-http")
        let script = folder.appending("server.py")
        let ready = folder.appending("ready")
        let socket = folder.appending("http.sock")
        try writeFile(atPath: script, contents: Data(Self.script.utf8))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, ready] + (unix ? [socket] : [])
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: ready, encoding: .utf8), text.hasSuffix("\n"), let port = Int(text.dropLast()) {
                return LoopbackServer(folder: folder, process: process, port: port, socketPath: socket)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw ServerDidNotStart()
    }

    /// Kills the server (SIGKILL: a child started from a pool thread may have SIGTERM blocked).
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    struct ServerDidNotStart: Error {}

    private static let script = #"""
        import http.server, json, os, signal, socketserver, sys, time, urllib.parse

        signal.pthread_sigmask(signal.SIG_SETMASK, [])  # the parent's thread may have blocked signals

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path.startswith("/status/"):
                    code = int(url.path.split("/")[2])
                    if code in (204, 304):
                        self.send_response(code)
                        self.end_headers()
                        return
                    return self.reply(code, {"error": {"code": "status", "message": str(code)}})
                if url.path == "/sleep":
                    time.sleep(int(query.get("ms", "1000")) / 1000)
                    return self.reply(200, {"slept": True})
                if url.path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-ndjson")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        for i in range(int(query.get("lines", "3"))):
                            data = (json.dumps({"line": i}) + "\n").encode()
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                            self.wfile.flush()
                            time.sleep(int(query.get("ms", "100")) / 1000)
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        open(sys.argv[1] + ".aborted", "w").close()
                    return
                if url.path == "/big":
                    return self.reply(200, "x" * int(query.get("bytes", "100000")))
                headers = {}
                for name, value in self.headers.items():
                    headers.setdefault(name.lower(), value)
                self.reply(200, {"method": self.command, "path": self.path, "headers": headers,
                                 "body": body.decode("utf-8", "replace")})

            def reply(self, code, value):
                data = json.dumps(value).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Test-Header", "Yes")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = answer

        class Quiet:
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request, client_address):
                pass  # clients that hang up early (cancel, time-out, size limit) are expected

        class TCPServer(Quiet, socketserver.ThreadingMixIn, http.server.HTTPServer):
            pass

        class UnixServer(Quiet, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            pass

        ready = sys.argv[1]
        if len(sys.argv) > 2:
            server, port = UnixServer(sys.argv[2], Handler), 0
        else:
            server = TCPServer(("127.0.0.1", 0), Handler)
            port = server.server_address[1]
        with open(ready + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.rename(ready + ".tmp", ready)
        server.serve_forever()
        """#
}

/// A loopback port with nothing listening on it (free a moment ago).
func unusedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EBADF) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
    return Int(UInt16(bigEndian: address.sin_port))
}

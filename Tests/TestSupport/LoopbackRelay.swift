import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Relays every TCP connection to a loopback port to another address for as long as it lives: a service that comes
/// back at an address that refused connections until now (a registry that was down, the test registry behind it).
public final class LoopbackRelay: Sendable {
    public let port: Int
    private let listener: LoopbackListener

    public init(port: Int, to target: String) throws {
        listener = try LoopbackListener(port: port)
        self.port = listener.port
        let fd = listener.fd
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }  // the relay went away
                guard let upstream = TestServices.tcpConnect(target) else {
                    close(client)
                    continue
                }
                Self.relay(client, upstream)
            }
        }
    }

    /// Waking the accepting thread; the listener closes the socket.
    deinit { shutdown(listener.fd, Int32(SHUT_RDWR)) }

    /// Copies both ways until each side has finished sending, then closes both sockets.
    private static func relay(_ one: Int32, _ other: Int32) {
        let done = DispatchGroup()
        for (from, to) in [(one, other), (other, one)] {
            done.enter()
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 64 * 1024)
                copying: while true {
                    let count = read(from, &buffer, buffer.count)
                    guard count > 0 else { break }
                    var sent = 0
                    while sent < count {
                        let written = buffer[sent..<count].withUnsafeBytes { send(to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        guard written > 0 else { break copying }
                        sent += written
                    }
                }
                shutdown(to, Int32(SHUT_WR))
                done.leave()
            }
        }
        done.notify(queue: .global()) {
            close(one)
            close(other)
        }
    }
}

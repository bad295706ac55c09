import Foundation

/// An exclusive lock on a data directory, held for the life of the process that took it.
///
/// Uses `flock`, so the kernel releases it when the process dies, even by `kill -9`; the
/// file also names the holder's pid so a refused process can say who holds it.
public final class DataDirectoryLock: Sendable {
    private let descriptor: Int32
    /// The data directory this lock holds.
    public let directory: DataDirectory

    private init(descriptor: Int32, directory: DataDirectory) {
        self.descriptor = descriptor
        self.directory = directory
    }

    deinit { close(descriptor) }  // closing releases the flock

    /// Takes the lock or fails naming the pid that holds it.
    public static func acquire(_ directory: DataDirectory) throws -> DataDirectoryLock {
        let fd = open(directory.lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ServiceError(.dataDirectoryUnusable, "cannot open \(directory.lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = readPID(fd)
            close(fd)
            throw ServiceError(
                .dataDirectoryInUse,
                "the data directory \(directory.path) is in use by another agentbox process (pid \(holder.map(String.init) ?? "unknown")); stop it first, or use the running server")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        return DataDirectoryLock(descriptor: fd, directory: directory)
    }

    /// The pid written by the holder of a lock, if one holds it now; nil when it is free.
    public static func holder(of directory: DataDirectory) -> Int32? {
        let fd = open(directory.lockPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        return readPID(fd)
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

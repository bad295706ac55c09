import CSodium
import Foundation

/// Reading and writing master key and passphrase files without the secret passing through Swift strings.
enum KeyFile {
    /// Reads a 32-byte key stored as base64 text (or as 32 raw bytes) into guarded memory.
    static func read(_ path: String, checkPermissions: Bool) throws -> SecureBytes {
        if checkPermissions { try refuseIfShared(path) }
        let raw = try readSecret(path, limit: 4096)
        if raw.count == AEAD.keyCount {
            return raw
        }
        return try SecureBytes(count: AEAD.keyCount) { key in
            var decoded = 0
            let result = raw.withUnsafeBytes { text in
                sodium_base642bin(
                    key.baseAddress!.assumingMemoryBound(to: UInt8.self), key.count,
                    text.baseAddress?.assumingMemoryBound(to: CChar.self), text.count,
                    " \t\r\n", &decoded, nil, Int32(sodium_base64_VARIANT_ORIGINAL))
            }
            guard result == 0, decoded == AEAD.keyCount else {
                throw VaultError(
                    .keyFileInvalid,
                    "\(path) does not hold a master key (expected 32 bytes as base64 text, e.g. from `head -c 32 /dev/urandom | base64`)")
            }
        }
    }

    /// Reads a passphrase file into guarded memory, without its trailing newline.
    static func readPassphrase(_ path: String) throws -> SecureBytes {
        try refuseIfShared(path)
        let raw = try readSecret(path, limit: 4096)
        let length = raw.withUnsafeBytes { bytes in
            var end = bytes.count
            while end > 0, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            return end
        }
        guard length > 0 else {
            throw VaultError(.passphraseInvalid, "passphrase file \(path) is empty; put the passphrase on its first line")
        }
        return try SecureBytes(count: length) { out in
            raw.withUnsafeBytes { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
        }
    }

    /// Creates a key file with mode 0600 in a 0700 directory, durably; refuses to overwrite one.
    static func create(_ path: String, key: SecureBytes) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw VaultError(.io, "cannot create the key directory \(directory): \(error.localizedDescription)")
            }
        }
        let encodedLength = sodium_base64_encoded_len(key.count, Int32(sodium_base64_VARIANT_ORIGINAL))
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw VaultError(.io, "cannot create the key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        try withWipedScratch(count: encodedLength) { text in
            key.withUnsafeBytes { bin in
                _ = sodium_bin2base64(
                    text.baseAddress!.assumingMemoryBound(to: CChar.self), encodedLength,
                    bin.baseAddress!.assumingMemoryBound(to: UInt8.self), bin.count, Int32(sodium_base64_VARIANT_ORIGINAL))
            }
            // encodedLength counts the terminating NUL; replace it with a newline.
            text[encodedLength - 1] = UInt8(ascii: "\n")
            guard write(fd, text.baseAddress, encodedLength) == encodedLength, fsync(fd) == 0 else {
                unlink(path)
                throw VaultError(.io, "cannot write the key file \(path): \(String(cString: strerror(errno)))")
            }
        }
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    /// Refuses a file that group or others may read, as ssh does for private keys.
    private static func refuseIfShared(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw VaultError(.io, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let mode = info.st_mode & 0o777
        if mode & 0o077 != 0 {
            throw VaultError(
                .keyFileInsecure,
                "\(path) can be read by group or others (mode \(String(mode, radix: 8))); run `chmod 600 \(path)` and start again")
        }
    }

    /// Reads a whole small file straight into guarded memory.
    private static func readSecret(_ path: String, limit: Int) throws -> SecureBytes {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw VaultError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        return try withWipedScratch(count: limit) { buffer in
            var total = 0
            while total < limit {
                let n = Foundation.read(fd, buffer.baseAddress! + total, limit - total)
                if n < 0 { throw VaultError(.io, "cannot read \(path): \(String(cString: strerror(errno)))") }
                if n == 0 { break }
                total += n
            }
            guard total < limit else {
                throw VaultError(.keyFileInvalid, "\(path) is larger than \(limit - 1) bytes; it is not a key or passphrase file")
            }
            return try SecureBytes(copying: UnsafeRawBufferPointer(rebasing: buffer[0..<total]))
        }
    }
}

import CSodium

/// Bytes kept in libsodium-guarded memory (guard pages, locked, wiped on free).
///
/// Keys, passphrases and opened plaintexts live here instead of in Swift `String` or `Array`,
/// which may be copied, reallocated or left behind in freed memory.
public final class SecureBytes: @unchecked Sendable {
    // @unchecked Sendable: the buffer is filled once by the initialiser and then made
    // read-only with sodium_mprotect_readonly, so concurrent readers never race a writer.
    private let pointer: UnsafeMutableRawPointer
    /// Number of bytes held.
    public let count: Int

    /// Allocates `count` bytes and lets `fill` write them before the memory turns read-only.
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        try Sodium.ensureInitialized()
        guard let pointer = sodium_malloc(max(count, 1)) else {
            throw VaultError(.io, "could not allocate \(count) bytes of guarded memory (is RLIMIT_MEMLOCK too low?)")
        }
        self.pointer = pointer
        self.count = count
        // Every stored property is set, so if `fill` throws, deinit runs and frees the memory.
        try fill(UnsafeMutableRawBufferPointer(start: pointer, count: count))
        sodium_mprotect_readonly(pointer)
    }

    /// Fresh random bytes from libsodium's generator.
    public static func random(count: Int) throws -> SecureBytes {
        try SecureBytes(count: count) { randombytes_buf($0.baseAddress!, $0.count) }
    }

    /// Copies the given bytes into guarded memory (the caller wipes its own copy).
    public convenience init(copying bytes: UnsafeRawBufferPointer) throws {
        try self.init(count: bytes.count) { destination in
            if let source = bytes.baseAddress, bytes.count > 0 {
                destination.baseAddress!.copyMemory(from: source, byteCount: bytes.count)
            }
        }
    }

    deinit {
        sodium_free(pointer)  // wipes before freeing
    }

    /// Reads the bytes; the buffer must not escape the closure.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Constant-time comparison.
    public func constantTimeEquals(_ other: UnsafeRawBufferPointer) -> Bool {
        guard other.count == count else { return false }
        if count == 0 { return true }
        return sodium_memcmp(pointer, other.baseAddress!, count) == 0
    }
}

/// Runs `body` with a scratch buffer that is wiped afterwards, for short-lived plaintext.
func withWipedScratch<R>(count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
    defer {
        sodium_memzero(buffer.baseAddress, buffer.count)
        buffer.deallocate()
    }
    return try body(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]))
}

import CSodium

/// Unkeyed hashing for integrity checks that need no secret (e.g. a token's typo checksum).
public enum Digest {
    /// BLAKE2b of `bytes` with an output of `count` bytes (16 to 64).
    public static func blake2b(_ bytes: [UInt8], count: Int = 32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        _ = crypto_generichash(&out, count, bytes, UInt64(bytes.count), nil, 0)
        return out
    }
}

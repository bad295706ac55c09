/// The stored form of a sealed value (docs/vault-format.md):
/// `format (1 byte) | key version (4 bytes, big-endian) | nonce (24 bytes) | ciphertext and tag`.
public struct SealedBlob: Sendable, Equatable {
    /// Format version written by this agentbox.
    public static let formatVersion: UInt8 = 1
    /// First field of every value's associated data.
    static let aadLabel = "agentbox-vault"
    static let headerCount = 1 + 4 + AEAD.nonceCount

    /// Version of the data key that sealed the value.
    public let keyVersion: UInt32
    let nonce: [UInt8]
    let ciphertext: [UInt8]

    init(keyVersion: UInt32, nonce: [UInt8], ciphertext: [UInt8]) {
        self.keyVersion = keyVersion
        self.nonce = nonce
        self.ciphertext = ciphertext
    }

    /// Parses a stored value; throws `malformedBlob` for anything that is not format 1.
    public init(parsing bytes: [UInt8]) throws {
        guard bytes.count >= Self.headerCount + AEAD.tagCount else {
            throw VaultError(.malformedBlob, "sealed value is \(bytes.count) bytes, shorter than the smallest valid value")
        }
        guard bytes[0] == Self.formatVersion else {
            throw VaultError(.malformedBlob, "sealed value has format version \(bytes[0]); this agentbox reads version \(Self.formatVersion)")
        }
        keyVersion = Self.keyVersionPrefix(bytes[1...4])
        nonce = Array(bytes[5..<Self.headerCount])
        ciphertext = Array(bytes[Self.headerCount...])
    }

    /// The stored bytes.
    public var bytes: [UInt8] {
        [Self.formatVersion] + Self.bigEndian(keyVersion) + nonce + ciphertext
    }

    /// The first five stored bytes of any value sealed under `keyVersion`; stored values compare
    /// bytewise, so a value sealed under an older key sorts below this prefix.
    public static func prefix(keyVersion: UInt32) -> [UInt8] {
        [formatVersion] + bigEndian(keyVersion)
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    private static func keyVersionPrefix(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }
}

import CSodium

/// What a keyed hash is for; each purpose has its own subkey of the server key.
public enum KeyedHashPurpose: UInt64, Sendable, CaseIterable {
    /// Stored form of API tokens: a leaked database does not let anyone test token guesses offline.
    case apiToken = 1
    /// Links of the audit log's hash chain: an edit cannot be hidden by recomputing the chain.
    case auditChain = 2
}

/// Subkeys of the server key, derived with `crypto_kdf_derive_from_key`, one per purpose.
struct KeyedHashKeys: Sendable {
    /// Associated-data label of the wrapped server key.
    static let wrapLabel = ["agentbox-server-key", String(SealedBlob.formatVersion)]
    private static let context = Array("abxsrvky".utf8).map { CChar(bitPattern: $0) }

    private let subkeys: [KeyedHashPurpose: SecureBytes]

    init(serverKey: SecureBytes) throws {
        var subkeys: [KeyedHashPurpose: SecureBytes] = [:]
        for purpose in KeyedHashPurpose.allCases {
            subkeys[purpose] = try SecureBytes(count: Int(crypto_generichash_KEYBYTES)) { out in
                _ = serverKey.withUnsafeBytes { key in
                    crypto_kdf_derive_from_key(
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count, purpose.rawValue, Self.context,
                        key.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        self.subkeys = subkeys
    }

    func hash(_ bytes: UnsafeRawBufferPointer, for purpose: KeyedHashPurpose) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        subkeys[purpose]!.withUnsafeBytes { key in
            _ = crypto_generichash(
                &out, out.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count),
                key.baseAddress!.assumingMemoryBound(to: UInt8.self), key.count)
        }
        return out
    }
}

extension Vault {
    /// A 32-byte keyed BLAKE2b of `bytes` under the server key's subkey for `purpose`.
    public func keyedHash(_ bytes: [UInt8], for purpose: KeyedHashPurpose) -> [UInt8] {
        bytes.withUnsafeBytes { hashKeys.hash($0, for: purpose) }
    }
}

import CSodium

/// XChaCha20-Poly1305 (IETF) from libsodium, with a fresh random nonce on every seal.
enum AEAD {
    static let keyCount = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    static let nonceCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    static let tagCount = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    /// Encrypts `plaintext` under `key`; returns the random nonce and the ciphertext with its tag.
    static func seal(_ plaintext: UnsafeRawBufferPointer, aad: [UInt8], key: SecureBytes) -> (nonce: [UInt8], ciphertext: [UInt8]) {
        var nonce = [UInt8](repeating: 0, count: nonceCount)
        randombytes_buf(&nonce, nonceCount)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + tagCount)
        var written: UInt64 = 0
        key.withUnsafeBytes { keyBytes in
            _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                &ciphertext, &written,
                plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
                aad, UInt64(aad.count), nil, nonce,
                keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return (nonce, ciphertext)
    }

    /// Decrypts into guarded memory; throws `openFailed` when the tag does not verify.
    static func open(_ ciphertext: [UInt8], nonce: [UInt8], aad: [UInt8], key: SecureBytes, what: String) throws -> SecureBytes {
        guard ciphertext.count >= tagCount, nonce.count == nonceCount else {
            throw VaultError(.malformedBlob, "\(what) is too short to be a sealed value")
        }
        return try SecureBytes(count: ciphertext.count - tagCount) { plaintext in
            var written: UInt64 = 0
            let result = key.withUnsafeBytes { keyBytes in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), &written, nil,
                    ciphertext, UInt64(ciphertext.count), aad, UInt64(aad.count), nonce,
                    keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            guard result == 0 else {
                throw VaultError(
                    .openFailed,
                    "\(what) failed authentication: it was altered, moved from another row or owner, or sealed by another key")
            }
        }
    }
}

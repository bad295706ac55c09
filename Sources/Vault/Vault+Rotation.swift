/// What a rotation did.
public struct RotationReport: Sendable, Equatable {
    /// The data key version every value is sealed with afterwards.
    public var newKeyVersion: UInt32
    /// Versions retired by this rotation.
    public var retiredVersions: [UInt32]
    /// Values re-sealed.
    public var resealed: Int
    /// Whether this run finished a rotation that an earlier, interrupted run had started.
    public var resumed: Bool
}

extension Vault {
    /// Rotates the data key while the store stays in use: adds a new active key (or resumes an
    /// interrupted rotation), re-seals old values in small batches, then retires the old keys.
    ///
    /// Each re-seal replaces a value only if it is unchanged, so concurrent writers win and
    /// concurrent readers always find a value they can open.
    public func rotate(batchSize: Int = 100) async throws -> RotationReport {
        let stored = try await store.loadDataKeys()
        let resumed = stored.contains { $0.state == .retiring }
        let target: UInt32
        if resumed {
            target = activeKeyVersion
        } else {
            target = (stored.map(\.version).max() ?? 0) + 1
            let key = try SecureBytes.random(count: AEAD.keyCount)
            try await store.addDataKey(
                StoredDataKey(version: target, wrappedKey: Keyring.wrap(key, version: target, with: master.bytes), state: .active))
            keyring.withLock {
                $0.keys[target] = key
                $0.active = target
            }
        }
        var resealed = 0
        while true {
            let rows = try await store.sealedRows(keyVersionBelow: target, limit: batchSize)
            if rows.isEmpty {
                if try await store.retireDataKeys(below: target) { break }
                continue  // a writer slipped in a value under an old key; sweep again
            }
            for row in rows {
                let plaintext = try open(row.blob, for: row.context)
                let blob = plaintext.withUnsafeBytes { seal($0, for: row.context) }
                if try await store.replaceSealed(row, with: blob) { resealed += 1 }
            }
        }
        let retired = keyring.withLock { ring in
            let old = ring.keys.keys.filter { $0 < target }.sorted()
            for version in old { ring.keys[version] = nil }
            return old
        }
        return RotationReport(newKeyVersion: target, retiredVersions: retired, resealed: resealed, resumed: resumed)
    }
}

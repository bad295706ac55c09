/// A sealed value that failed to open, named by its place only.
public struct VerificationFailure: Sendable, Equatable {
    public var context: SealContext
    public var code: VaultError.Code
    public var message: String
}

/// What `verify` found.
public struct VerificationReport: Sendable, Equatable {
    /// Values that opened.
    public var opened: Int
    /// Values that did not.
    public var failures: [VerificationFailure]
}

/// What `status` shows: no secret, only facts about keys and values.
public struct VaultStatus: Sendable, Equatable {
    public var masterKeyKind: MasterKeyKind
    public var masterKeyOrigin: String
    public var activeKeyVersion: UInt32
    public var keys: [StoredDataKey]
    /// A rotation was interrupted and `rotate` will finish it.
    public var rotationPending: Bool { keys.contains { $0.state == .retiring } }
}

extension Vault {
    /// Opens every sealed value of the store and reports each one that fails.
    public func verify(batchSize: Int = 200) async throws -> VerificationReport {
        var report = VerificationReport(opened: 0, failures: [])
        var cursor: SealContext?
        while true {
            let rows = try await store.sealedRows(after: cursor, limit: batchSize)
            guard let last = rows.last else { return report }
            for row in rows {
                do {
                    _ = try open(row.blob, for: row.context)
                    report.opened += 1
                } catch let error as VaultError {
                    report.failures.append(VerificationFailure(context: row.context, code: error.code, message: error.message))
                }
            }
            cursor = last.context
        }
    }

    /// Key facts for `agentbox vault status`.
    public func status() async throws -> VaultStatus {
        VaultStatus(
            masterKeyKind: masterKeyKind, masterKeyOrigin: masterKeyOrigin, activeKeyVersion: activeKeyVersion,
            keys: try await store.loadDataKeys().map { StoredDataKey(version: $0.version, wrappedKey: nil, state: $0.state) })
    }
}

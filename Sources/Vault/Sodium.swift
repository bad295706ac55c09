import CSodium

/// libsodium set-up, done once per process.
enum Sodium {
    private static let initResult: Int32 = sodium_init()

    /// Initialises libsodium (idempotent); throws if the library cannot be used.
    static func ensureInitialized() throws {
        guard initResult >= 0 else {
            throw VaultError(.sodiumUnavailable, "libsodium failed to initialise (sodium_init returned \(initResult))")
        }
    }
}

/// The one error type of the Vault module: a code to match on, a message for people, and the cause.
public struct VaultError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, as a value callers can match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case sodiumUnavailable = "sodium_unavailable"
            case keyMismatch = "key_mismatch"
            case keyMissing = "key_missing"
            case keyFileInsecure = "key_file_insecure"
            case keyFileInvalid = "key_file_invalid"
            case wrongKeyKind = "wrong_key_kind"
            case passphraseInvalid = "passphrase_invalid"
            case openFailed = "open_failed"
            case malformedBlob = "malformed_blob"
            case unknownKeyVersion = "unknown_key_version"
            case retiredKeyVersion = "retired_key_version"
            case storeFailed = "store_failed"
            case io = "io"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// libsodium could not be initialised.
        public static let sodiumUnavailable = Code(.sodiumUnavailable)
        /// The master key does not match the key check value stored with the vault.
        public static let keyMismatch = Code(.keyMismatch)
        /// The vault holds data but its master key cannot be found.
        public static let keyMissing = Code(.keyMissing)
        /// The key file can be read by group or others.
        public static let keyFileInsecure = Code(.keyFileInsecure)
        /// The key file or credential does not hold a 32-byte key.
        public static let keyFileInvalid = Code(.keyFileInvalid)
        /// The vault was made with a passphrase but a key was given, or the reverse.
        public static let wrongKeyKind = Code(.wrongKeyKind)
        /// The passphrase is empty or unreadable.
        public static let passphraseInvalid = Code(.passphraseInvalid)
        /// A sealed value failed authentication: tampered, moved to another row, or sealed by another key.
        public static let openFailed = Code(.openFailed)
        /// A sealed value is too short or has an unknown format version.
        public static let malformedBlob = Code(.malformedBlob)
        /// A sealed value names a data key version the vault does not have.
        public static let unknownKeyVersion = Code(.unknownKeyVersion)
        /// A sealed value names a data key version that rotation has retired.
        public static let retiredKeyVersion = Code(.retiredKeyVersion)
        /// The key store (the database) failed.
        public static let storeFailed = Code(.storeFailed)
        /// Reading or writing a key file failed.
        public static let io = Code(.io)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let message: String
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}

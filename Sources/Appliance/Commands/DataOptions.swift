import ArgumentParser
import Foundation
import Logging
import Services
import Vault

/// Options shared by every command that opens a data directory.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Folder holding the database, the key file and the lock (env AGENTBOX_DATA_DIR; default ./data, or /var/lib/agentbox when installed).",
        valueName: "dir"))
    var dataDir: String?

    @Option(name: .long, help: ArgumentHelp(
        "Master key file (env AGENTBOX_MASTER_KEY_FILE; default <data-dir>/keys/master.key, created 0600 on first start).",
        valueName: "file"))
    var masterKeyFile: String?

    @Option(name: .long, help: ArgumentHelp(
        "File holding a passphrase to derive the master key with Argon2id instead of a key file (env AGENTBOX_PASSPHRASE_FILE).",
        valueName: "file"))
    var passphraseFile: String?

    @Option(name: .long, help: ArgumentHelp(
        "Log level: trace, debug, info, notice, warning, error or critical (env AGENTBOX_LOG_LEVEL; default info).",
        valueName: "level"))
    var logLevel: String?

    @Option(name: .long, help: ArgumentHelp(
        "Log format on standard error: text, or json for one JSON object a line (env AGENTBOX_LOG_FORMAT; default text).",
        valueName: "format"))
    var logFormat: String?

    private var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The data directory chosen by flag, environment or default.
    var directory: DataDirectory {
        DataDirectory(path: dataDir ?? environment["AGENTBOX_DATA_DIR"] ?? DataDirectory.defaultPath())
    }

    /// Where to find the master key, in the order SECURITY.md gives.
    var masterKey: MasterKeyConfiguration {
        MasterKeyConfiguration(
            credentialsDirectory: environment["CREDENTIALS_DIRECTORY"],
            keyFilePath: masterKeyFile ?? environment["AGENTBOX_MASTER_KEY_FILE"] ?? directory.defaultKeyFilePath,
            passphraseFilePath: passphraseFile ?? environment["AGENTBOX_PASSPHRASE_FILE"])
    }

    /// Hardens the process (no core dumps, owner-only files) and sets up logging to standard error
    /// at the chosen level; returns the command's logger.
    func prepareProcess(label: String) throws -> Logger {
        try Self.prepareProcess(logLevel: logLevel, logFormat: logFormat, environment: environment, label: label)
    }

    /// The same for a command without a data directory (`agentbox dtma`): its own `--log-level` and `--log-format`.
    static func prepareProcess(logLevel: String?, logFormat: String?, environment: [String: String], label: String) throws -> Logger {
        let name = logLevel ?? environment["AGENTBOX_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: name.lowercased()) else {
            throw ValidationError("unknown log level '\(name)'; use trace, debug, info, notice, warning, error or critical")
        }
        let formatName = logFormat ?? environment["AGENTBOX_LOG_FORMAT"] ?? LogFormat.text.rawValue
        guard let format = LogFormat(rawValue: formatName.lowercased()) else {
            throw ValidationError("unknown log format '\(formatName)'; use text or json")
        }
        ProcessHardening.apply()
        LoggingSystem.bootstrap(format.handler(level: level))
        return Logger(label: label)
    }

    /// Prepares the process and opens the data directory the way `mode` says.
    func openBackend(_ mode: Backend.Mode, label: String) async throws -> Backend {
        let logger = try prepareProcess(label: label)
        return try await Backend.open(directory, keys: masterKey, mode: mode, logger: logger)
    }
}

import Foundation

/// The folder that holds everything agentbox keeps: the SQLite file, the key file and the lock.
public struct DataDirectory: Sendable, Equatable {
    /// Absolute path of the folder.
    public let path: String

    public init(path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The data directory when none is given: `/var/lib/agentbox` for an installed binary, `./data` elsewhere.
    public static func defaultPath(executable: String = CommandLine.arguments.first ?? "") -> String {
        let resolved = URL(fileURLWithPath: executable).resolvingSymlinksInPath().path
        return resolved.hasPrefix("/usr/") ? "/var/lib/agentbox" : "./data"
    }

    /// The SQLite database.
    public var databasePath: String { path + "/agentbox.sqlite" }
    /// The master key file used when no systemd credential or passphrase is given.
    public var defaultKeyFilePath: String { path + "/keys/master.key" }
    /// The lock file naming the process that uses the folder.
    public var lockPath: String { path + "/agentbox.lock" }

    /// Whether a database exists here.
    public var hasDatabase: Bool { FileManager.default.fileExists(atPath: databasePath) }

    /// Creates the folder (mode 0700) if it does not exist.
    public func create() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw ServiceError(.dataDirectoryUnusable, "\(path) exists but is not a folder; choose another --data-dir")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ServiceError(.dataDirectoryUnusable, "cannot create the data directory \(path): \(error.localizedDescription)")
        }
    }

    /// Fails with a hint when the folder holds no database yet.
    public func requireDatabase() throws {
        guard hasDatabase else {
            throw ServiceError(
                .notInitialized, "no agentbox database in \(path); run `agentbox serve` or `agentbox db migrate` with this --data-dir first")
        }
    }
}

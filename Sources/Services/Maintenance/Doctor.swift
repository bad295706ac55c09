import DigitalOcean
import Foundation
import Storage
import Vault

/// `agentbox doctor`: checks a data directory and its surroundings, each with what is wrong and how to fix it.
///
/// Reads only and takes no lock, so it runs beside a serving process. Every check runs even when an earlier one
/// failed; checks that need something that failed say so.
public enum Doctor {
    /// One finding.
    public struct Check: Sendable, Equatable, Codable {
        public enum Status: String, Sendable, Codable {
            case ok, warn, fail
        }

        /// A stable name for scripts, e.g. `data_directory`.
        public var name: String
        public var status: Status
        /// What was found (never a secret).
        public var detail: String
        /// What to do about it, when it is not ok.
        public var fix: String?

        public init(_ name: String, _ status: Status, _ detail: String, fix: String? = nil) {
            self.name = name
            self.status = status
            self.detail = detail
            self.fix = fix
        }
    }

    /// What to check.
    public struct Options: Sendable {
        public var directory: DataDirectory
        public var keys: MasterKeyConfiguration
        public var dockerSocket: String
        /// Below this much free space in the data directory's file system, a warning.
        public var minimumFreeBytes: Int64
        public var now: Date
        /// The DigitalOcean API the stored token is checked against.
        public var digitalOceanAPI: String

        public init(
            directory: DataDirectory, keys: MasterKeyConfiguration, dockerSocket: String = DockerProbe.defaultSocketPath,
            minimumFreeBytes: Int64 = 1 << 30, now: Date = Date(), digitalOceanAPI: String = DigitalOceanClient.defaultBaseURL
        ) {
            self.digitalOceanAPI = digitalOceanAPI
            self.directory = directory
            self.keys = keys
            self.dockerSocket = dockerSocket
            self.minimumFreeBytes = minimumFreeBytes
            self.now = now
        }
    }

    /// Runs every check, in a fixed order.
    public static func run(_ options: Options) async -> [Check] {
        let directory = options.directory
        var checks = [dataDirectory(directory), masterKey(options.keys)]
        checks += await databaseAndVault(directory, keys: options.keys, digitalOceanAPI: options.digitalOceanAPI)
        checks.append(await docker(options.dockerSocket))
        checks.append(diskSpace(directory, minimum: options.minimumFreeBytes))
        checks.append(clock(options.now))
        return checks
    }

    // MARK: - Files

    static func dataDirectory(_ directory: DataDirectory) -> Check {
        let path = directory.path
        var status = stat()
        guard lstat(path, &status) == 0 else {
            return Check(
                "data_directory", .fail, "\(path) does not exist",
                fix: "start `agentbox serve --data-dir \(path)` once to create it, or `agentbox restore FILE --data-dir \(path)`")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            return Check("data_directory", .fail, "\(path) is not a folder", fix: "move it away, or choose another --data-dir")
        }
        var problems: [String] = []
        var fixes: [String] = []
        let mode = status.st_mode & 0o777
        if mode != 0o700 {
            problems.append("mode \(octal(mode)) (must be 0700: only agentbox's user may enter it)")
            fixes.append("chmod 700 \(path)")
        }
        if status.st_uid != geteuid() {
            problems.append("owned by uid \(status.st_uid), not by uid \(geteuid()) which runs agentbox")
            fixes.append("chown -R \(geteuid()) \(path) (or run agentbox as its owner)")
        }
        guard problems.isEmpty else {
            return Check("data_directory", .fail, "\(path): \(problems.joined(separator: "; "))", fix: fixes.joined(separator: "; "))
        }
        return Check("data_directory", .ok, "\(path): mode 0700, owned by uid \(geteuid())")
    }

    static func masterKey(_ keys: MasterKeyConfiguration) -> Check {
        if let folder = keys.credentialsDirectory, !folder.isEmpty,
            FileManager.default.fileExists(atPath: folder + "/" + MasterKeyConfiguration.credentialName)
        {
            return Check("master_key", .ok, "systemd credential \(MasterKeyConfiguration.credentialName) (systemd guards its permissions)")
        }
        let (what, path) = keys.passphraseFilePath.map { ("passphrase file", $0) } ?? ("key file", keys.keyFilePath)
        var status = stat()
        guard stat(path, &status) == 0 else {
            return Check(
                "master_key", .fail, "the \(what) \(path) does not exist",
                fix: "restore it from where you keep it (it is never inside a backup); agentbox never makes a new key over existing data")
        }
        var problems: [String] = []
        var fixes: [String] = []
        let mode = status.st_mode & 0o777
        if mode & 0o077 != 0 {
            problems.append("mode \(octal(mode)) lets group or others read the master key")
            fixes.append("chmod 600 \(path)")
        }
        if status.st_uid != geteuid() {
            problems.append("owned by uid \(status.st_uid), not by uid \(geteuid()) which runs agentbox")
            fixes.append("chown \(geteuid()) \(path)")
        }
        guard problems.isEmpty else {
            return Check("master_key", .fail, "the \(what) \(path): \(problems.joined(separator: "; "))", fix: fixes.joined(separator: "; "))
        }
        return Check("master_key", .ok, "the \(what) \(path): mode \(octal(mode)), owned by uid \(geteuid())")
    }

    // MARK: - Database, vault, audit

    private static let restoreFix = "stop the server and restore a backup: agentbox restore FILE --force"

    static func databaseAndVault(_ directory: DataDirectory, keys: MasterKeyConfiguration, digitalOceanAPI: String) async -> [Check] {
        let names = ["database_integrity", "database_foreign_keys", "vault", "sealed_values", "audit_chain", "digitalocean"]
        func skipped(_ from: Int, _ why: String) -> [Check] {
            names[from...].map { Check($0, .fail, "not checked: \(why)", fix: nil) }
        }
        guard directory.hasDatabase else {
            return [
                Check(
                    "database_integrity", .fail, "no database at \(directory.databasePath)",
                    fix: "start `agentbox serve` once to create it, or `agentbox restore FILE`")
            ] + skipped(1, "there is no database")
        }
        let database: AppDatabase
        do {
            database = try await BlockingWork.run { try AppDatabase.openExisting(path: directory.databasePath) }
        } catch {
            return [Check("database_integrity", .fail, "cannot open \(directory.databasePath): \(describe(error))", fix: restoreFix)]
                + skipped(1, "the database did not open")
        }
        defer { try? database.close() }
        var checks: [Check] = []

        do {
            let integrity = try await BlockingWork.run { try database.integrityCheck() }
            checks.append(
                integrity == ["ok"]
                    ? Check("database_integrity", .ok, "PRAGMA integrity_check: ok")
                    : Check("database_integrity", .fail, "PRAGMA integrity_check: \(integrity.prefix(5).joined(separator: "; "))", fix: restoreFix))
            let dangling = try await BlockingWork.run { try database.foreignKeyViolations() }
            checks.append(
                dangling.isEmpty
                    ? Check("database_foreign_keys", .ok, "PRAGMA foreign_key_check: no dangling reference")
                    : Check(
                        "database_foreign_keys", .fail, "\(dangling.count) dangling reference(s): \(dangling.prefix(5).map(\.description).joined(separator: "; "))",
                        fix: restoreFix))
        } catch {
            return [Check("database_integrity", .fail, "the checks could not run: \(describe(error))", fix: restoreFix)]
                + skipped(1, "the database could not be read")
        }

        let store = DatabaseVaultStore(database: database)
        let vault: Vault
        do {
            guard try await store.loadHeader() != nil else {
                return checks + [Check("vault", .fail, "the vault has not been created yet", fix: "start `agentbox serve` once to create it")]
                    + skipped(3, "there is no vault")
            }
            vault = try await Vault.unseal(keys, store: store)
            checks.append(Check("vault", .ok, "unsealed with the master key from \(vault.masterKeyOrigin), data key version \(vault.activeKeyVersion)"))
        } catch {
            return checks + [
                Check(
                    "vault", .fail, "the vault does not unseal: \(describe(error))",
                    fix: "provide the master key the vault was created with (key file, systemd credential or passphrase file), with mode 0600")
            ] + skipped(3, "the vault did not unseal")
        }

        do {
            let report = try await vault.verify()
            if report.failures.isEmpty {
                checks.append(Check("sealed_values", .ok, "\(report.opened) sealed value(s) open"))
            } else {
                let named = report.failures.prefix(10).map { "\($0.context) (\($0.code))" }.joined(separator: ", ")
                let more = report.failures.count > 10 ? " and \(report.failures.count - 10) more" : ""
                checks.append(
                    Check(
                        "sealed_values", .fail, "\(report.failures.count) sealed value(s) do not open: \(named)\(more)",
                        fix: "they were altered or moved: store those credentials again, or \(restoreFix)"))
            }
        } catch {
            checks.append(Check("sealed_values", .fail, "the sealed values could not be read: \(describe(error))", fix: restoreFix))
        }

        do {
            let result = try await AuditLog(vault: vault).verify(database)
            if let (seq, reason) = result.firstBreak {
                checks.append(
                    Check(
                        "audit_chain", .fail, "broken at record \(seq): \(reason) (\(result.checked) record(s) before it are intact)",
                        fix: "the audit log was changed outside agentbox: keep a copy of this database for investigation, then \(restoreFix)"))
            } else {
                checks.append(Check("audit_chain", .ok, "\(result.checked) record(s), chain intact"))
            }
        } catch {
            checks.append(Check("audit_chain", .fail, "the audit log could not be read: \(describe(error))", fix: restoreFix))
        }
        checks.append(await digitalOcean(database, vault: vault, apiURL: digitalOceanAPI))
        return checks
    }

    /// The stored DigitalOcean token, asked to `/v2/account`; fine when none is stored (only remote toolboxes need one).
    static func digitalOcean(_ database: AppDatabase, vault: Vault, apiURL: String) async -> Check {
        let account = DigitalOceanAccountService(database: database, vault: vault, audit: AuditLog(vault: vault), apiURL: apiURL)
        let fix = "store a valid token: printf %s \"$DIGITALOCEAN_TOKEN\" | agentbox digitalocean set-token"
        do {
            guard try await database.snapshot({ tx in try tx.cloudCredential(provider: DigitalOceanAccountService.provider) }) != nil else {
                return Check("digitalocean", .ok, "no DigitalOcean token stored (only remote toolboxes need one)")
            }
            let found = try await DigitalOceanAccountService.check(try await account.client())
            return Check("digitalocean", .ok, "the token is accepted by \(apiURL) (account \(found.email ?? found.uuid ?? "?"))")
        } catch let error as ServiceError where error.reason == "digitalocean_unavailable" {
            return Check("digitalocean", .warn, error.message, fix: "check the network path to \(apiURL) (HTTPS_PROXY is honoured)")
        } catch {
            return Check("digitalocean", .fail, describe(error), fix: fix)
        }
    }

    // MARK: - Surroundings

    static func docker(_ socket: String) async -> Check {
        let probe = DockerProbe(socketPath: socket, timeout: .seconds(5))
        let fix = "start the Docker engine (systemctl start docker) and let agentbox's user use its socket (group docker), or point agentbox at it with --docker-socket / AGENTBOX_DOCKER_SOCKET"
        do {
            try await probe.ping()
            let version = try await probe.version()
            guard DockerProbe.isSupported(apiVersion: version.apiVersion) else {
                return Check(
                    "docker", .fail,
                    "the Docker engine at \(socket) speaks API \(version.apiVersion), older than \(DockerProbe.minimumAPIVersion)",
                    fix: "upgrade Docker to 20.10 or newer")
            }
            return Check("docker", .ok, "Docker \(version.engineVersion) at \(socket), API \(version.apiVersion)")
        } catch {
            return Check("docker", .fail, error.message, fix: fix)
        }
    }

    static func diskSpace(_ directory: DataDirectory, minimum: Int64) -> Check {
        var path = directory.path
        while !FileManager.default.fileExists(atPath: path), path != "/" {
            path = (path as NSString).deletingLastPathComponent
        }
        var info = statvfs()
        guard statvfs(path, &info) == 0 else {
            return Check("disk_space", .warn, "cannot read the free space of \(path): \(String(cString: strerror(errno)))")
        }
        let free = Int64(info.f_bavail) * Int64(info.f_frsize)
        let text = "\(bytes(free)) free in \(path)"
        guard free >= minimum else {
            return Check(
                "disk_space", .warn, "only \(text) (want at least \(bytes(minimum)))",
                fix: "free space on that file system: SQLite needs room to grow the database and its write-ahead log")
        }
        return Check("disk_space", .ok, text)
    }

    static func clock(_ now: Date) -> Check {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let year = calendar.component(.year, from: now)
        let text = now.formatted(Date.ISO8601FormatStyle())
        guard year >= 2024 else {
            return Check(
                "clock", .fail, "the system clock says \(text)",
                fix: "set the clock (timedatectl set-ntp true): token expiry and audit times depend on it")
        }
        return Check("clock", .ok, "\(text) (UTC)")
    }

    // MARK: - Text

    private static func octal(_ mode: mode_t) -> String {
        "0" + String(mode, radix: 8)
    }

    private static func bytes(_ count: Int64) -> String {
        count >= 1 << 30
            ? String(format: "%.1f GiB", Double(count) / Double(1 << 30))
            : String(format: "%.0f MiB", Double(count) / Double(1 << 20))
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case let error as StorageError: error.message
        case let error as VaultError: error.message
        case let error as ServiceError: error.message
        default: String(describing: error)
        }
    }
}

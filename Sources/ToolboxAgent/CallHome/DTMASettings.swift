import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The settings of a droplet's DTMA (`agentbox dtma`), from the environment that systemd reads out of
/// `/etc/agentbox/agent.conf`: where the appliance is, how to trust it, which toolbox this is, and where the
/// enrollment token lies. Tokens are only ever read from files, never from the environment.
public struct DTMASettings: Sendable, Equatable {
    /// The appliance's URL without a trailing slash, e.g. `https://agentbox.example.com:8420`.
    public var applianceURL: String
    /// libcurl's public-key pin of the appliance's own TLS key (`sha256//<base64>`); nil for a CA-signed certificate.
    public var pin: String?
    public var toolboxID: UUID
    /// The file holding the single-use enrollment token; nil when the agent enrolled already.
    public var enrollmentTokenFile: String?
    /// Where the agent keeps its toolbox token and its releases (0700).
    public var stateDirectory: String
    /// The Docker engine's unix socket.
    public var dockerSocket: String

    public static let defaultStateDirectory = "/var/lib/agentbox-dtma"
    public static let urlVariable = "AGENTBOX_APPLIANCE_URL"
    public static let pinVariable = "AGENTBOX_APPLIANCE_PIN"
    public static let toolboxVariable = "AGENTBOX_TOOLBOX_ID"
    public static let enrollmentFileVariable = "AGENTBOX_ENROLLMENT_TOKEN_FILE"
    static let configFile = "/etc/agentbox/agent.conf"

    public init(
        applianceURL: String, pin: String?, toolboxID: UUID, enrollmentTokenFile: String?, stateDirectory: String, dockerSocket: String
    ) {
        self.applianceURL = applianceURL
        self.pin = pin
        self.toolboxID = toolboxID
        self.enrollmentTokenFile = enrollmentTokenFile
        self.stateDirectory = stateDirectory
        self.dockerSocket = dockerSocket
    }

    /// Reads and checks the settings; the state folder is `stateDirectory` (the option), else `$STATE_DIRECTORY`
    /// (systemd's `StateDirectory=`), else ``defaultStateDirectory``.
    public static func load(environment: [String: String], stateDirectory: String?, dockerSocket: String) throws(DTMAError) -> DTMASettings {
        for name in ["AGENTBOX_ENROLLMENT_TOKEN", "AGENTBOX_TOOLBOX_TOKEN", "AGENTBOX_TOKEN"] where environment[name] != nil {
            throw DTMAError(
                .settings,
                "\(name) is set, but agentbox dtma takes tokens only from files (the environment of a process is easy to read): "
                    + "put the enrollment token in a file of mode 0600 and name it in \(enrollmentFileVariable)")
        }
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        guard let rawURL = value(urlVariable) else {
            throw DTMAError(
                .settings, "\(urlVariable) is not set: set it to the appliance's URL, e.g. https://agentbox.example.com:8420 (systemd reads it from \(configFile))")
        }
        let url = try checkedURL(rawURL)
        var pin: String?
        if let rawPin = value(pinVariable) {
            pin = try checkedPin(rawPin)
            if url.hasPrefix("http://") {
                throw DTMAError(
                    .settings, "\(pinVariable) is set but \(urlVariable) is http://: a key pin needs https; use the appliance's https URL or leave the pin empty")
            }
        }
        guard let rawID = value(toolboxVariable) else {
            throw DTMAError(.settings, "\(toolboxVariable) is not set: set it to this droplet's toolbox id, as the droplet's user-data wrote it into \(configFile)")
        }
        guard let toolboxID = UUID(uuidString: rawID) else {
            throw DTMAError(.settings, "\(toolboxVariable) is not a toolbox id (a UUID such as 7d3c...-...): '\(rawID.prefix(64))'")
        }
        let directory = stateDirectory ?? value("STATE_DIRECTORY").map { String($0.split(separator: ":").first ?? "") } ?? defaultStateDirectory
        guard directory.hasPrefix("/") else {
            throw DTMAError(.settings, "the state folder must be an absolute path, not '\(directory)' (--state-dir or STATE_DIRECTORY)")
        }
        return DTMASettings(
            applianceURL: url, pin: pin, toolboxID: toolboxID, enrollmentTokenFile: value(enrollmentFileVariable), stateDirectory: directory,
            dockerSocket: dockerSocket)
    }

    /// An https URL, or an http one whose host is loopback (the DigitalOcean stand-in runs its droplets on one machine).
    static func checkedURL(_ text: String) throws(DTMAError) -> String {
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw DTMAError(.settings, "\(urlVariable) is not a URL: '\(text.prefix(200))'; use e.g. https://agentbox.example.com:8420")
        }
        guard url.query == nil, url.user == nil, url.password == nil else {
            throw DTMAError(.settings, "\(urlVariable) must be the appliance's base URL, without a query or user info")
        }
        switch scheme {
        case "https":
            return trimmed
        case "http" where isLoopback(host):
            return trimmed
        case "http":
            throw DTMAError(
                .settings,
                "\(urlVariable) is plain http to \(host): droplets reach the appliance over https only (serve --tls, or a reverse proxy); "
                    + "http is allowed only to a loopback address")
        default:
            throw DTMAError(.settings, "\(urlVariable) must be an https URL, not \(scheme)://")
        }
    }

    /// 127.0.0.0/8, ::1 or localhost.
    static func isLoopback(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" || name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) }) else { return false }
        let numbers = parts.compactMap { Int($0) }
        return numbers.count == 4 && numbers.allSatisfy { (0...255).contains($0) } && numbers[0] == 127
    }

    /// One or more `sha256//<base64 of 32 bytes>` pins joined by `;`, as libcurl takes them.
    static func checkedPin(_ text: String) throws(DTMAError) -> String {
        for pin in text.split(separator: ";") {
            guard pin.hasPrefix("sha256//"), let digest = Data(base64Encoded: String(pin.dropFirst(8))), digest.count == 32 else {
                throw DTMAError(
                    .settings,
                    "\(pinVariable) is not a key pin: use sha256//<base64 of the SHA-256 of the appliance's public key>, "
                        + "as `agentbox serve --tls` prints it, or leave it empty for a certificate signed by a certificate authority")
            }
        }
        return text
    }

    // MARK: - The state folder

    /// The toolbox token, 0600, written once at enrollment.
    public var tokenPath: String { stateDirectory + "/toolbox-token" }
    /// Downloaded agent binaries.
    public var releasesDirectory: String { stateDirectory + "/releases" }
    /// The self-update's bookkeeping (``ReleaseState``).
    public var releaseStatePath: String { stateDirectory + "/release.json" }

    /// Creates the state folder (0700) if needed, and makes it 0700 if it is not.
    public func prepareStateDirectory() throws(DTMAError) {
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: stateDirectory)
        } catch {
            throw DTMAError(.state, "cannot create the state folder \(stateDirectory) (mode 0700): \(error.localizedDescription); run as root, or set --state-dir")
        }
    }

    /// The token in `path`: the file's first line, trimmed; nil if the file does not exist.
    static func readToken(_ path: String, what: String) throws(DTMAError) -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DTMAError(.state, "cannot read the \(what) in \(path): \(error.localizedDescription)")
        }
        let token = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !token.isEmpty else { throw DTMAError(.state, "the \(what) file \(path) is empty") }
        guard token.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0.value < 127 }) else {
            throw DTMAError(.state, "the \(what) file \(path) does not hold a token (printable ASCII, one line)")
        }
        return token
    }

    /// The toolbox token kept from enrollment, if there is one.
    public func storedToolboxToken() throws(DTMAError) -> String? {
        try Self.readToken(tokenPath, what: "toolbox token")
    }

    /// The enrollment token from ``enrollmentTokenFile``.
    public func enrollmentToken() throws(DTMAError) -> String {
        guard let file = enrollmentTokenFile else {
            throw DTMAError(
                .settings,
                "this agent has not enrolled yet (no \(tokenPath)) and \(Self.enrollmentFileVariable) is not set: name the file holding the enrollment token "
                    + "(the droplet's user-data writes /etc/agentbox/enrollment-token)")
        }
        guard let token = try Self.readToken(file, what: "enrollment token") else {
            throw DTMAError(.settings, "\(Self.enrollmentFileVariable) names \(file), which does not exist")
        }
        return token
    }

    /// Keeps the toolbox token: written to a temporary file of mode 0600, synced, then renamed over `toolbox-token`.
    public func storeToolboxToken(_ token: String) throws(DTMAError) {
        try Self.writeAtomically(Array((token + "\n").utf8), to: tokenPath, mode: 0o600)
    }

    /// Writes `bytes` to `path` through a temporary file of `mode` in the same folder, `fsync`ed, then renamed.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws(DTMAError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw DTMAError(.state, "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        var failure: String?
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        if failure == nil && fchmod(fd, mode) != 0 { failure = String(cString: strerror(errno)) }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil && rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw DTMAError(.state, "cannot write \(path): \(failure)")
        }
    }
}

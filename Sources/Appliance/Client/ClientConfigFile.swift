import Foundation

/// `client.json`, written by `agentbox login`: the server URL and the token to use with it.
///
/// Lives in `$XDG_CONFIG_HOME/agentbox/` (default `~/.config/agentbox/`), the folder 0700 and the file 0600.
struct ClientConfigFile: Codable, Equatable {
    var server: String
    var token: String

    /// The file's path for an environment.
    static func path(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let base: String
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            base = xdg
        } else {
            base = (environment["HOME"] ?? NSHomeDirectory()) + "/.config"
        }
        return base + "/agentbox/client.json"
    }

    /// The saved settings; nil when there is no file.
    static func load(from path: String) throws -> ClientConfigFile? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(ClientConfigFile.self, from: data)
        } catch {
            throw CLIError("\(path) is not a valid agentbox client file; run `agentbox login` again or remove it")
        }
    }

    /// Writes the file with mode 0600 in a 0700 folder, replacing any previous one in one step.
    func save(to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIError("cannot create \(folder): \(error.localizedDescription)")
        }
        guard chmod(folder, 0o700) == 0 else { throw CLIError("cannot make \(folder) private: \(String(cString: strerror(errno)))") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self) + Data("\n".utf8)

        let temporary = folder + "/.client.json.\(getpid()).tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == data.count, synced, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CLIError("cannot write \(path): \(reason)")
        }
    }

    /// Removes the file; false when there was none.
    static func remove(at path: String) throws -> Bool {
        if unlink(path) == 0 { return true }
        if errno == ENOENT { return false }
        throw CLIError("cannot remove \(path): \(String(cString: strerror(errno)))")
    }
}

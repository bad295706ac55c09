import Crypto
import Foundation
import Services
import TestSupport
import Testing

/// The `.deb` the appliance writes itself is a package dpkg reads and installs: its fields, its paths and modes, its bytes.
struct DebianPackageTests {
    /// Runs `command arguments`; its exit status and standard output and error together.
    static func run(_ command: String, _ arguments: [String], in directory: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static let control = DebianPackage.Control(
        package: "agentbox", version: "1.2.3-rc.1", architecture: DebianPackage.hostArchitecture, maintainer: "agentbox <agentbox@localhost>",
        depends: ["libc6", "libcurl4", "libsodium23", "libsqlite3-0"], summary: "agentbox test package", details: "A small file packaged to check the writer.")

    /// The package of `payload`: its frame around the bytes.
    static func build(_ payload: Data, control: DebianPackage.Control = control, modified: Date = Date()) throws -> Data {
        let md5 = Insecure.MD5.hash(data: payload).map { String(format: "%02x", $0) }.joined()
        let frame = try DebianPackage.frame(binarySize: payload.count, md5: md5, executable: "agentbox", control: control, modified: modified)
        #expect(frame.size(binarySize: payload.count) == frame.head.count + payload.count + frame.tail.count)
        return frame.head + payload + frame.tail
    }

    @Test func dpkgReadsTheFieldsThePathsAndTheBytes() throws {
        let folder = try TemporaryDirectory()
        // An odd size, so both the tar padding and the ar member padding are exercised.
        let payload = Data("#!/bin/sh\necho 'agentbox 1.2.3-rc.1'\n".utf8) + Data((0..<3001).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let deb = try Self.build(payload, modified: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(deb.prefix(8) == Data("!<arch>\n".utf8))
        #expect(deb.count % 2 == 0)
        let file = folder.appending("agentbox_1.2.3-rc.1.deb")
        try deb.write(to: URL(fileURLWithPath: file))

        let info = try Self.run("/usr/bin/dpkg-deb", ["--info", file])
        #expect(info.status == 0, "\(info.output)")
        for line in [
            "Package: agentbox", "Version: 1.2.3-rc.1", "Architecture: \(DebianPackage.hostArchitecture)", "Maintainer: agentbox <agentbox@localhost>",
            "Installed-Size: 3", "Depends: libc6, libcurl4, libsodium23, libsqlite3-0", "Section: admin", "Priority: optional",
            "Description: agentbox test package", "A small file packaged to check the writer.",
        ] {
            #expect(info.output.contains(line), "dpkg-deb --info lacks \(line): \(info.output)")
        }
        #expect(!info.output.lowercased().contains("warning"), "\(info.output)")
        let field = try Self.run("/usr/bin/dpkg-deb", ["--field", file, "Architecture"])
        #expect(field.output.trimmingCharacters(in: .whitespacesAndNewlines) == DebianPackage.hostArchitecture)
        #expect(["amd64", "arm64"].contains(DebianPackage.hostArchitecture), "dpkg's names for x86_64 and aarch64")

        let contents = try Self.run("/usr/bin/dpkg-deb", ["--contents", file])
        #expect(contents.status == 0, "\(contents.output)")
        let entries = contents.output.split(separator: "\n").map { line -> (mode: String, owner: String, path: String) in
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            return (String(parts.first ?? ""), String(parts.count > 1 ? parts[1] : ""), String(parts.last ?? ""))
        }
        #expect(entries.map(\.path) == ["./", "./usr/", "./usr/bin/", "./usr/bin/agentbox"], "\(contents.output)")
        #expect(entries.map(\.mode) == ["drwxr-xr-x", "drwxr-xr-x", "drwxr-xr-x", "-rwxr-xr-x"], "\(contents.output)")
        #expect(entries.allSatisfy { $0.owner == "root/root" }, "\(contents.output)")
        #expect(contents.output.contains(" \(payload.count) "), "the size is listed: \(contents.output)")

        let tree = folder.appending("tree")
        let extracted = try Self.run("/usr/bin/dpkg-deb", ["-x", file, tree])
        #expect(extracted.status == 0, "\(extracted.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: tree + "/usr/bin/agentbox")) == payload)
        #expect(FileManager.default.isExecutableFile(atPath: tree + "/usr/bin/agentbox"))

        let control = folder.appending("control")
        #expect(try Self.run("/usr/bin/dpkg-deb", ["--control", file, control]).status == 0)
        let md5sums = try String(contentsOfFile: control + "/md5sums", encoding: .utf8)
        #expect(md5sums.hasSuffix("  usr/bin/agentbox\n") && md5sums.count == 32 + 2 + 16 + 1, "\(md5sums)")
        let check = try Self.run("/usr/bin/md5sum", ["--check", "--status", control + "/md5sums"], in: tree)
        #expect(check.status == 0, "md5sums holds the installed file's MD5: \(check.output)")
    }

    @Test func dpkgInstallsItIntoAThrowawayRoot() throws {
        let folder = try TemporaryDirectory()
        let payload = Data("#!/bin/sh\necho 'agentbox 0.0.1'\n".utf8)
        let file = folder.appending("agentbox.deb")
        try Self.build(payload).write(to: URL(fileURLWithPath: file))
        let root = folder.appending("root")
        for directory in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "usr/bin"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        try writeFile(atPath: root + "/var/lib/dpkg/status", contents: Data())
        try writeFile(atPath: root + "/var/lib/dpkg/available", contents: Data())
        let installed = try Self.run(
            "/usr/bin/dpkg", ["--root=\(root)", "--log=/dev/null", "--force-depends", "--force-not-root", "--force-script-chrootless", "-i", file])
        #expect(installed.status == 0, "\(installed.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/usr/bin/agentbox")) == payload)
        let status = try String(contentsOfFile: root + "/var/lib/dpkg/status", encoding: .utf8)
        #expect(status.contains("Package: agentbox") && status.contains("Status: install ok installed") && status.contains("Version: 1.2.3-rc.1"), "\(status)")
    }

    @Test func dpkgArchitectureNamesAndRefusedFields() throws {
        #expect(DebianPackage.architecture(machine: "x86_64") == "amd64")
        #expect(DebianPackage.architecture(machine: "aarch64") == "arm64")
        var bad = Self.control
        bad.version = "next"
        #expect(throws: DebianPackage.Failure.self) { try DebianPackage.frame(binarySize: 1, md5: "", executable: "agentbox", control: bad) }
        bad = Self.control
        bad.summary = "two\nlines"
        #expect(throws: DebianPackage.Failure.self) { try DebianPackage.frame(binarySize: 1, md5: "", executable: "agentbox", control: bad) }
    }
}

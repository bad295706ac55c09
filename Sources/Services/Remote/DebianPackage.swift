import Foundation

/// A Debian binary package of one executable, written with no external tool: an `ar` archive of `debian-binary`,
/// `control.tar` and `data.tar` (both uncompressed ustar, which dpkg accepts), installing the file as
/// `/usr/bin/<name>` (0755, root:root). The executable's bytes go into the package unchanged, so the package is a
/// ``Frame`` around them: it can be sent straight from the file, never held in memory.
public enum DebianPackage {
    /// The package's control fields.
    public struct Control: Sendable, Equatable {
        public var package: String
        public var version: String
        /// dpkg's name for the architecture, e.g. `amd64`.
        public var architecture: String
        public var maintainer: String
        public var depends: [String]
        public var section: String
        public var priority: String
        /// The one-line synopsis.
        public var summary: String
        /// The extended description, one paragraph.
        public var details: String

        public init(
            package: String, version: String, architecture: String, maintainer: String, depends: [String], section: String = "admin",
            priority: String = "optional", summary: String, details: String
        ) {
            self.package = package
            self.version = version
            self.architecture = architecture
            self.maintainer = maintainer
            self.depends = depends
            self.section = section
            self.priority = priority
            self.summary = summary
            self.details = details
        }

        /// The `control` file for a payload of `installedBytes`.
        func text(installedBytes: Int) -> String {
            var lines = [
                "Package: \(package)", "Version: \(version)", "Architecture: \(architecture)", "Maintainer: \(maintainer)",
                "Installed-Size: \(max(1, (installedBytes + 1023) / 1024))",
            ]
            if !depends.isEmpty { lines.append("Depends: " + depends.joined(separator: ", ")) }
            lines += ["Section: \(section)", "Priority: \(priority)", "Description: \(summary)", " " + details]
            return lines.joined(separator: "\n") + "\n"
        }
    }

    /// Why a package cannot be written.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// dpkg's architecture name for a machine name as `uname -m` prints it (x86_64 -> amd64, aarch64 -> arm64).
    public static func architecture(machine: String) -> String {
        switch machine {
        case "x86_64", "amd64": "amd64"
        case "aarch64", "arm64": "arm64"
        case "armv7l", "armv7", "armhf": "armhf"
        case "i386", "i486", "i586", "i686": "i386"
        case "ppc64le": "ppc64el"
        case "s390x": "s390x"
        case "riscv64": "riscv64"
        default: machine
        }
    }

    /// dpkg's architecture name for this machine.
    public static var hostArchitecture: String {
        var names = utsname()
        uname(&names)
        let machine = withUnsafeBytes(of: &names.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return architecture(machine: machine)
    }

    /// What goes before and after the executable's bytes in its package.
    public struct Frame: Sendable, Equatable {
        public let head: Data
        public let tail: Data

        /// The package's size for an executable of `binarySize` bytes.
        public func size(binarySize: Int) -> Int { head.count + binarySize + tail.count }
    }

    /// The frame of the package that installs an executable of `binarySize` bytes, whose MD5 is `md5` (lowercase hex),
    /// as `/usr/bin/<executable>`; every member dated `modified`.
    public static func frame(binarySize: Int, md5: String, executable: String, control: Control, modified: Date = Date()) throws -> Frame {
        try check(control)
        guard !executable.isEmpty, executable.utf8.count <= 80, !executable.contains("/") else {
            throw Failure(description: "the executable's name '\(executable)' cannot be a file name in /usr/bin")
        }
        let mtime = max(0, Int(modified.timeIntervalSince1970))

        var controlTar = Tar(mtime: mtime)
        controlTar.directory("./")
        controlTar.file("./control", Data(control.text(installedBytes: binarySize).utf8), mode: 0o644)
        controlTar.file("./md5sums", Data("\(md5)  usr/bin/\(executable)\n".utf8), mode: 0o644)

        var dataTar = Tar(mtime: mtime)
        dataTar.directory("./")
        dataTar.directory("./usr/")
        dataTar.directory("./usr/bin/")
        dataTar.fileHeader("./usr/bin/\(executable)", size: binarySize, mode: 0o755)
        let dataHead = dataTar.bytes
        let dataTail = Tar.padding(after: binarySize) + Tar.end
        let dataSize = dataHead.count + binarySize + dataTail.count

        var head = Data("!<arch>\n".utf8)
        appendMember(&head, name: "debian-binary", Data("2.0\n".utf8), mtime: mtime)
        appendMember(&head, name: "control.tar", controlTar.finished(), mtime: mtime)
        head.append(memberHeader(name: "data.tar", size: dataSize, mtime: mtime))
        head.append(dataHead)
        var tail = dataTail
        if dataSize % 2 == 1 { tail.append(0x0a) }
        return Frame(head: head, tail: tail)
    }

    /// Refuses control fields dpkg would reject: a malformed package name or version, a field that spans lines.
    static func check(_ control: Control) throws {
        let name = control.package.unicodeScalars
        guard name.count >= 2, let first = name.first, CharacterSet.lowercaseLetters.contains(first) || CharacterSet.decimalDigits.contains(first),
            name.allSatisfy({ $0.isASCII && ("a"..."z" ~= $0 || "0"..."9" ~= $0 || "+-.".unicodeScalars.contains($0)) })
        else { throw Failure(description: "'\(control.package)' is not a Debian package name") }
        let version = control.version.unicodeScalars
        guard let start = version.first, "0"..."9" ~= start,
            version.allSatisfy({ $0.isASCII && ("a"..."z" ~= $0 || "A"..."Z" ~= $0 || "0"..."9" ~= $0 || ".+-~:".unicodeScalars.contains($0)) })
        else {
            throw Failure(description: "'\(control.version)' is not a Debian version (it must start with a digit; letters, digits and . + - ~ : only)")
        }
        for (field, value) in [
            ("Architecture", control.architecture), ("Maintainer", control.maintainer), ("Section", control.section),
            ("Priority", control.priority), ("Description", control.summary), ("Description", control.details),
        ] + control.depends.map({ ("Depends", $0) }) {
            guard !value.isEmpty, !value.contains("\n"), !value.contains("\r") else {
                throw Failure(description: "the control field \(field) must be one non-empty line")
            }
        }
    }

    /// One `ar` member: its header, the bytes, a newline to an even offset.
    private static func appendMember(_ archive: inout Data, name: String, _ bytes: Data, mtime: Int) {
        archive.append(memberHeader(name: name, size: bytes.count, mtime: mtime))
        archive.append(bytes)
        if bytes.count % 2 == 1 { archive.append(0x0a) }
    }

    /// The 60-byte header of an `ar` member: name, mtime, uid, gid, mode, size, the magic.
    private static func memberHeader(name: String, size: Int, mtime: Int) -> Data {
        var header = ""
        header += padded(name, 16)
        header += padded(String(mtime), 12)
        header += padded("0", 6)
        header += padded("0", 6)
        header += padded("100644", 8)
        header += padded(String(size), 10)
        header += "`\n"
        return Data(header.utf8)
    }

    private static func padded(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.utf8.count))
    }

    /// An uncompressed ustar archive written in memory, every entry owned by root:root.
    struct Tar {
        let mtime: Int
        private(set) var bytes = Data()
        /// The end of an archive: two zero blocks.
        static let end = Data(count: 1024)

        init(mtime: Int) {
            self.mtime = mtime
        }

        mutating func directory(_ path: String) {
            bytes.append(contentsOf: Self.header(path: path, size: 0, mode: 0o755, type: UInt8(ascii: "5"), mtime: mtime))
        }

        mutating func file(_ path: String, _ contents: Data, mode: Int) {
            fileHeader(path, size: contents.count, mode: mode)
            bytes.append(contents)
            bytes.append(Self.padding(after: contents.count))
        }

        /// A file's header only: its `size` bytes and ``padding(after:)`` must follow.
        mutating func fileHeader(_ path: String, size: Int, mode: Int) {
            bytes.append(contentsOf: Self.header(path: path, size: size, mode: mode, type: UInt8(ascii: "0"), mtime: mtime))
        }

        /// The zeros that take a file of `size` bytes to a whole block.
        static func padding(after size: Int) -> Data {
            Data(count: (512 - size % 512) % 512)
        }

        /// The archive with its end.
        func finished() -> Data { bytes + Self.end }

        /// A 512-byte ustar header; the checksum is the sum of its bytes with the checksum field taken as eight spaces.
        static func header(path: String, size: Int, mode: Int, type: UInt8, mtime: Int) -> [UInt8] {
            var block = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int, width: Int) {
                for (index, byte) in text.utf8.prefix(width).enumerated() { block[offset + index] = byte }
            }
            func octal(_ value: Int, at offset: Int, width: Int) {
                // width - 1 zero-padded octal digits, then NUL.
                let digits = String(value, radix: 8)
                put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset, width: width - 1)
            }
            precondition(path.utf8.count <= 100, "tar path too long: \(path)")
            put(path, at: 0, width: 100)
            octal(mode, at: 100, width: 8)
            octal(0, at: 108, width: 8)
            octal(0, at: 116, width: 8)
            octal(size, at: 124, width: 12)
            octal(mtime, at: 136, width: 12)
            block[156] = type
            put("ustar", at: 257, width: 6)
            put("00", at: 263, width: 2)
            put("root", at: 265, width: 32)
            put("root", at: 297, width: 32)
            octal(0, at: 329, width: 8)
            octal(0, at: 337, width: 8)
            for index in 148..<156 { block[index] = 0x20 }
            let sum = block.reduce(0) { $0 + Int($1) }
            let digits = String(sum, radix: 8)
            put(String(repeating: "0", count: max(0, 6 - digits.count)) + digits, at: 148, width: 6)
            block[154] = 0
            block[155] = 0x20
            return block
        }
    }
}

import Foundation
import JSONSchema

/// Reads the JSON a command sends from a file, or from standard input for `-`.
enum InputFile {
    /// The bytes of `path` (`-` for standard input).
    static func bytes(_ path: String) throws -> [UInt8] {
        if path == "-" {
            return Array(FileHandle.standardInput.readDataToEndOfFile())
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read \(path): no such file, or not readable")
        }
        return Array(data)
    }

    /// The JSON object in `path`; `secret` leaves the parser's message (which may quote the text) out of errors.
    static func object(_ path: String, secret: Bool = false) throws -> [String: JSONValue] {
        let name = path == "-" ? "standard input" : path
        let value: JSONValue
        do {
            value = try JSONValue(parsing: try bytes(path))
        } catch let error as JSONSchemaError {
            throw CLIError(secret ? "\(name) is not valid JSON" : "\(name) is not valid JSON: \(error.message)")
        }
        guard case .object(let fields) = value else { throw CLIError("\(name) must hold a JSON object") }
        return fields
    }
}

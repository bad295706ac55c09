import JSONSchema

/// A tool's capabilities, read from its `required_capabilities_schema`: a map from capability name
/// to a description (`{"gmail_send": "Send Email"}`), or to an object with a description and an
/// input schema (`{"gmail_send": {"description": "Send Email", "input_schema": {...}}}`).
///
/// Its keys are the only capability names that permissions and calls may name.
public struct CapabilityMap: Sendable {
    /// One capability.
    public struct Capability: Sendable {
        public let description: String
        /// Validates a call's input when the catalog gives one.
        public let inputSchema: JSONSchema?
    }

    public let capabilities: [String: Capability]

    /// Parses and checks the map; throws `unprocessable` naming the capability and what is wrong.
    public init(_ value: JSONValue) throws {
        guard case .object(let entries) = value, !entries.isEmpty else {
            throw ServiceError(
                .unprocessable,
                #"required_capabilities_schema must be a non-empty object mapping capability names to descriptions, e.g. {"gmail_send": "Send Email"}"#)
        }
        var capabilities: [String: Capability] = [:]
        for (name, entry) in entries {
            guard Self.isValidName(name) else {
                throw ServiceError(
                    .unprocessable, "capability name '\(name)' must start with a lowercase letter and use only a-z, 0-9, '_', '.' or '-' (at most 64)")
            }
            switch entry {
            case .string(let description):
                capabilities[name] = Capability(description: description, inputSchema: nil)
            case .object(let fields):
                let unknown = Set(fields.keys).subtracting(["description", "input_schema"])
                guard unknown.isEmpty else {
                    throw ServiceError(.unprocessable, "capability \(name) has unknown field(s) \(unknown.sorted().joined(separator: ", ")); use description and input_schema")
                }
                guard case .string(let description)? = fields["description"] else {
                    throw ServiceError(.unprocessable, "capability \(name) needs a description string")
                }
                var schema: JSONSchema?
                if let raw = fields["input_schema"] {
                    do {
                        schema = try JSONSchema(raw)
                    } catch {
                        throw ServiceError(.unprocessable, "the input_schema of capability \(name) is not a schema agentbox supports: \(error.message)")
                    }
                }
                capabilities[name] = Capability(description: description, inputSchema: schema)
            default:
                throw ServiceError(.unprocessable, "capability \(name) must map to a description string or an object with description and input_schema")
            }
        }
        self.capabilities = capabilities
    }

    /// Whether `name` is one of the tool's capabilities.
    public func contains(_ name: String) -> Bool { capabilities[name] != nil }

    /// Whether `name` is a well-formed capability name.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.unicodeScalars.count <= 64 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0) }
    }
}

import Foundation
import JSONSchema
import Storage

/// The admin-curated tool catalog: admins write it; every user reads its enabled entries (admins read all).
public struct CatalogService: Sendable {
    let database: AppDatabase
    let audit: AuditLog

    /// Bounds of the numeric fields, shared with the OpenAPI description.
    public enum Limits {
        public static let containerPort = 1...65_535
        /// Docker refuses less than 6 MiB; 1 TiB is more than any tool needs.
        public static let memoryLimitMB = 6...1_048_576
        public static let cpuLimit = 0.01...1_024.0
        /// From a tenth of a second to an hour.
        public static let executeTimeoutMS = 100...3_600_000
        public static let versionLength = 128
        public static let imageReferenceLength = 512
    }

    /// A catalog entry as an admin describes it.
    public struct Definition: Sendable {
        public var name: String
        public var description: String?
        public var dockerImageURL: String
        public var version: String
        public var containerPort: Int
        public var `protocol`: ToolProtocol
        public var memoryLimitMB: Int?
        public var cpuLimit: Double?
        public var executeTimeoutMS: Int
        public var isEnabled: Bool
        /// A JSON Schema object for the tool's config.
        public var defaultConfigJSONSchema: JSONValue
        /// The capability map (see ``CapabilityMap``).
        public var requiredCapabilitiesSchema: JSONValue
        /// A JSON Schema object for the credentials the tool needs.
        public var requiredSecretsSchema: JSONValue

        public init(
            name: String, description: String? = nil, dockerImageURL: String, version: String, containerPort: Int,
            protocol: ToolProtocol = .agentboxV1, memoryLimitMB: Int? = nil, cpuLimit: Double? = nil, executeTimeoutMS: Int = 30_000,
            isEnabled: Bool = true, defaultConfigJSONSchema: JSONValue = .object([:]), requiredCapabilitiesSchema: JSONValue,
            requiredSecretsSchema: JSONValue = .object([:])
        ) {
            self.name = name
            self.description = description
            self.dockerImageURL = dockerImageURL
            self.version = version
            self.containerPort = containerPort
            self.protocol = `protocol`
            self.memoryLimitMB = memoryLimitMB
            self.cpuLimit = cpuLimit
            self.executeTimeoutMS = executeTimeoutMS
            self.isEnabled = isEnabled
            self.defaultConfigJSONSchema = defaultConfigJSONSchema
            self.requiredCapabilitiesSchema = requiredCapabilitiesSchema
            self.requiredSecretsSchema = requiredSecretsSchema
        }
    }

    /// What may change on a catalog entry; nil leaves a field as it is, and `.some(nil)` clears an optional one.
    public struct Changes: Sendable {
        public var name: String?
        public var description: String??
        public var dockerImageURL: String?
        public var version: String?
        public var containerPort: Int?
        public var `protocol`: ToolProtocol?
        public var memoryLimitMB: Int??
        public var cpuLimit: Double??
        public var executeTimeoutMS: Int?
        public var isEnabled: Bool?
        public var defaultConfigJSONSchema: JSONValue?
        public var requiredCapabilitiesSchema: JSONValue?
        public var requiredSecretsSchema: JSONValue?

        public init(
            name: String? = nil, description: String?? = nil, dockerImageURL: String? = nil, version: String? = nil,
            containerPort: Int? = nil, protocol: ToolProtocol? = nil, memoryLimitMB: Int?? = nil, cpuLimit: Double?? = nil,
            executeTimeoutMS: Int? = nil, isEnabled: Bool? = nil, defaultConfigJSONSchema: JSONValue? = nil,
            requiredCapabilitiesSchema: JSONValue? = nil, requiredSecretsSchema: JSONValue? = nil
        ) {
            self.name = name
            self.description = description
            self.dockerImageURL = dockerImageURL
            self.version = version
            self.containerPort = containerPort
            self.protocol = `protocol`
            self.memoryLimitMB = memoryLimitMB
            self.cpuLimit = cpuLimit
            self.executeTimeoutMS = executeTimeoutMS
            self.isEnabled = isEnabled
            self.defaultConfigJSONSchema = defaultConfigJSONSchema
            self.requiredCapabilitiesSchema = requiredCapabilitiesSchema
            self.requiredSecretsSchema = requiredSecretsSchema
        }

        /// The API names of the fields this changes, for the audit log.
        var fieldNames: [String] {
            let fields: [(String, Bool)] = [
                ("name", name != nil), ("description", description != nil), ("docker_image_url", dockerImageURL != nil),
                ("version", version != nil), ("container_port", containerPort != nil), ("protocol", `protocol` != nil),
                ("memory_limit_mb", memoryLimitMB != nil), ("cpu_limit", cpuLimit != nil), ("execute_timeout_ms", executeTimeoutMS != nil),
                ("is_enabled", isEnabled != nil), ("default_config_json_schema", defaultConfigJSONSchema != nil),
                ("required_capabilities_schema", requiredCapabilitiesSchema != nil), ("required_secrets_schema", requiredSecretsSchema != nil),
            ]
            return fields.filter(\.1).map(\.0)
        }
    }

    /// Adds a tool to the catalog (admins only); its schemas must compile and its name be new.
    public func create(_ definition: Definition, by principal: Principal) async throws -> ToolCatalogEntry {
        _ = try principal.requireAdmin()
        // Every field is set through `apply`, so a new entry is checked by the same code as an update.
        var entry = ToolCatalogEntry(
            name: "-", dockerImageURL: "-", version: "-", containerPort: Limits.containerPort.lowerBound)
        try Self.apply(
            Changes(
                name: definition.name, description: .some(definition.description), dockerImageURL: definition.dockerImageURL,
                version: definition.version, containerPort: definition.containerPort, protocol: definition.protocol,
                memoryLimitMB: .some(definition.memoryLimitMB), cpuLimit: .some(definition.cpuLimit),
                executeTimeoutMS: definition.executeTimeoutMS, isEnabled: definition.isEnabled,
                defaultConfigJSONSchema: definition.defaultConfigJSONSchema,
                requiredCapabilitiesSchema: definition.requiredCapabilitiesSchema,
                requiredSecretsSchema: definition.requiredSecretsSchema),
            to: &entry)
        return try await database.transaction { [audit, entry] tx in
            try Self.requireUniqueName(entry.name, excluding: nil, in: tx)
            let entry = try tx.insert(entry)
            try audit.append(Self.event(principal, "catalog.create", entry), in: tx)
            return entry
        }
    }

    /// A catalog entry: enabled ones for everyone, any for an admin; others are "not found".
    public func get(_ id: UUID, by principal: Principal) async throws -> ToolCatalogEntry {
        _ = try principal.requireUser()
        return try await database.snapshot { tx in try Self.visible(id, to: principal, in: tx) }
    }

    /// Catalog entries by name: enabled ones for users; all for admins, who may filter on `enabled`.
    public func list(enabled: Bool?, name: String?, page: PageRequest, by principal: Principal) async throws -> Page<ToolCatalogEntry> {
        _ = try principal.requireUser()
        if !principal.isAdmin && enabled == false { return Page(items: [], total: 0) }
        let filter = principal.isAdmin ? enabled : true
        return try await database.snapshot { tx in try tx.toolCatalogEntries(enabled: filter, name: name, page: page) }
    }

    /// Changes a catalog entry (admins only). Instances keep the version they were deployed with.
    public func update(_ id: UUID, _ changes: Changes, by principal: Principal) async throws -> ToolCatalogEntry {
        _ = try principal.requireAdmin()
        return try await database.transaction { [audit] tx in
            var entry = try Self.visible(id, to: principal, in: tx)
            try Self.apply(changes, to: &entry)
            if changes.name != nil { try Self.requireUniqueName(entry.name, excluding: entry.id, in: tx) }
            entry.updatedAt = Timestamp.now()
            try tx.update(entry)
            var event = Self.event(principal, "catalog.update", entry)
            event.detail["fields"] = changes.fieldNames.joined(separator: ",")
            try audit.append(event, in: tx)
            return entry
        }
    }

    /// Removes a catalog entry (admins only); refused, naming them, while instances of it exist.
    public func delete(_ id: UUID, by principal: Principal) async throws {
        _ = try principal.requireAdmin()
        try await database.transaction { [audit] tx in
            let entry = try Self.visible(id, to: principal, in: tx)
            let users = try tx.accountToolInstances(toolCatalogID: entry.id, page: PageRequest(limit: 10))
            guard users.total == 0 else {
                throw ServiceError(
                    .conflict,
                    "tool \(entry.name) is used by \(users.total) instance(s): \(InstanceService.describe(users)); delete them first, or disable the tool instead")
            }
            try tx.delete(ToolCatalogEntry.self, id: entry.id)
            try audit.append(Self.event(principal, "catalog.delete", entry), in: tx)
        }
    }

    // MARK: - Rules

    /// A catalog entry the principal may see, or "not found" exactly as for a missing one.
    static func visible(_ id: UUID, to principal: Principal, in tx: Transaction) throws -> ToolCatalogEntry {
        guard let entry = try tx.fetch(ToolCatalogEntry.self, id: id), entry.isEnabled || principal.isAdmin else {
            throw ServiceError(.notFound, "no catalog tool has id \(id.uuidString.lowercased())")
        }
        return entry
    }

    /// The compiled config schema of a stored entry.
    static func configSchema(of entry: ToolCatalogEntry) throws -> JSONSchema {
        do {
            return try JSONSchema(parsing: entry.defaultConfigJSONSchema)
        } catch {
            throw ServiceError(
                .unprocessable, "the config schema of tool \(entry.name) no longer compiles (\(error.message)); an admin must fix the catalog entry")
        }
    }

    /// Checks every field that is set and writes it into `entry`.
    static func apply(_ changes: Changes, to entry: inout ToolCatalogEntry) throws {
        if let name = changes.name { entry.name = try Validation.name(name) }
        if let description = changes.description { entry.description = try Validation.text(description, field: "description") }
        if let image = changes.dockerImageURL { entry.dockerImageURL = try ImageReference.validate(image) }
        if let version = changes.version { entry.version = try Self.version(version) }
        if let port = changes.containerPort { entry.containerPort = try Self.bounded(port, Limits.containerPort, field: "container_port") }
        if let proto = changes.protocol { entry.protocol = proto }
        if let memory = changes.memoryLimitMB {
            entry.memoryLimitMB = try memory.map { try Self.bounded($0, Limits.memoryLimitMB, field: "memory_limit_mb") }
        }
        if let cpu = changes.cpuLimit {
            entry.cpuLimit = try cpu.map { cpu in
                guard cpu.isFinite, Limits.cpuLimit.contains(cpu) else {
                    throw ServiceError(
                        .invalidRequest, "cpu_limit must be from \(Limits.cpuLimit.lowerBound) to \(Limits.cpuLimit.upperBound) cores")
                }
                return cpu
            }
        }
        if let timeout = changes.executeTimeoutMS {
            entry.executeTimeoutMS = try Self.bounded(timeout, Limits.executeTimeoutMS, field: "execute_timeout_ms")
        }
        if let enabled = changes.isEnabled { entry.isEnabled = enabled }
        if let schema = changes.defaultConfigJSONSchema {
            entry.defaultConfigJSONSchema = try Self.jsonSchema(schema, field: "default_config_json_schema")
        }
        if let map = changes.requiredCapabilitiesSchema {
            guard case .object = map else {
                throw ServiceError(.invalidRequest, "required_capabilities_schema must be a JSON object mapping capability names to descriptions")
            }
            _ = try CapabilityMap(map)
            entry.requiredCapabilitiesSchema = map.jsonText
        }
        if let schema = changes.requiredSecretsSchema {
            entry.requiredSecretsSchema = try Self.jsonSchema(schema, field: "required_secrets_schema")
        }
    }

    /// A JSON Schema object that compiles, as stored text; an unsupported keyword is refused, naming it.
    private static func jsonSchema(_ value: JSONValue, field: String) throws -> String {
        guard case .object = value else { throw ServiceError(.invalidRequest, "\(field) must be a JSON object (a JSON Schema)") }
        do {
            _ = try JSONSchema(value)
        } catch {
            throw ServiceError(.unprocessable, "\(field) is not a JSON Schema agentbox can enforce: \(error.message)")
        }
        return value.jsonText
    }

    private static func version(_ value: String) throws -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")
        guard let first = value.first, first.isASCII, first.isLetter || first.isNumber, value.count <= Limits.versionLength,
            value.allSatisfy(allowed.contains)
        else {
            throw ServiceError(
                .invalidRequest,
                "version must start with a letter or digit and use only letters, digits, '.', '_', '+' or '-' (at most \(Limits.versionLength))")
        }
        return value
    }

    private static func bounded(_ value: Int, _ range: ClosedRange<Int>, field: String) throws -> Int {
        guard range.contains(value) else {
            throw ServiceError(.invalidRequest, "\(field) must be from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    private static func requireUniqueName(_ name: String, excluding id: UUID?, in tx: Transaction) throws {
        if let other = try tx.toolCatalogEntry(named: name, excluding: id) {
            throw ServiceError(.conflict, "the catalog already has a tool named \(other.name) (id \(other.id.uuidString.lowercased()))")
        }
    }

    private static func event(_ principal: Principal, _ action: String, _ entry: ToolCatalogEntry) -> AuditEvent {
        AuditEvent(
            actor: principal.auditActor, action: action, targetType: "tool_catalog", targetID: entry.id.uuidString.lowercased(),
            detail: ["name": entry.name, "version": entry.version, "is_enabled": String(entry.isEnabled)])
    }
}

/// A Docker image reference: `[registry[:port]/]path[:tag][@sha256:digest]`, the path lowercase, as Docker's
/// reference grammar has it.
public enum ImageReference {
    /// The grammar as a regular expression (ECMA 262, the OpenAPI description uses it too); no backslashes,
    /// so it embeds in JSON as it is.
    public static let pattern: String = {
        let domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
        let port = "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
        let domain = "\(domainComponent)(?:[.]\(domainComponent))*(?::\(port))?"
        let pathComponent = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
        let tag = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
        return "^(?:\(domain)/)?\(pathComponent)(?:/\(pathComponent))*(?::\(tag))?(?:@sha256:[a-f0-9]{64})?$"
    }()

    /// The reference if it matches ``pattern`` (at most 512 bytes); throws `invalidRequest` saying what is wrong.
    public static func validate(_ reference: String) throws -> String {
        guard reference.utf8.count <= CatalogService.Limits.imageReferenceLength, matches(reference) else {
            throw ServiceError(
                .invalidRequest,
                "docker_image_url \(problem(in: reference) ?? "is not a Docker image reference"); expected [registry[:port]/]name[:tag][@sha256:<64 hex>], e.g. ghcr.io/acme/gmail:1.2.0"
            )
        }
        return reference
    }

    /// The registry an image is pulled from, as Docker decides: the first part of the name when it has a `.` or
    /// a `:` or is `localhost`, Docker Hub (`docker.io`) otherwise. `127.0.0.1:5001/acme/mail:1` is from `127.0.0.1:5001`.
    public static func registry(of reference: String) -> String {
        let parts = reference.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let first = parts.first, first.contains(".") || first.contains(":") || first == "localhost" else {
            return "docker.io"
        }
        return String(first)
    }

    /// Whether the whole reference matches ``pattern``.
    static func matches(_ reference: String) -> Bool {
        let body = String(pattern.dropFirst().dropLast())
        guard let regex = try? Regex(body) else { return false }
        return (try? regex.wholeMatch(in: reference)) != nil
    }

    /// What is wrong with a reference, for the message; nil when no specific reason is found.
    static func problem(in reference: String) -> String? {
        guard !reference.isEmpty else { return "must not be empty" }
        guard reference.utf8.count <= CatalogService.Limits.imageReferenceLength else {
            return "must be at most \(CatalogService.Limits.imageReferenceLength) bytes"
        }
        guard reference.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            return "must be printable ASCII without spaces"
        }
        if reference.contains("://") { return "must not have a scheme such as https://" }
        var rest = Substring(reference)
        if let at = rest.firstIndex(of: "@") {
            let digest = rest[rest.index(after: at)...]
            rest = rest[..<at]
            guard digest.hasPrefix("sha256:"), digest.count == 71, digest.dropFirst(7).allSatisfy(isLowerHex) else {
                return "has a digest that is not sha256: followed by 64 lowercase hex digits"
            }
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard var last = components.popLast() else { return nil }
        if let colon = last.firstIndex(of: ":") {
            let tag = last[last.index(after: colon)...]
            last = last[..<colon]
            guard let first = tag.first, isAlphanumeric(first) || first == "_", tag.count <= 128,
                tag.allSatisfy({ isAlphanumeric($0) || "_.-".contains($0) })
            else {
                return "has a tag that is not 1 to 128 of letters, digits, '_', '.' or '-' (not starting with '.' or '-')"
            }
        }
        components.append(last)
        if components.count > 1 { components.removeFirst() }  // a registry, or the first part of the name
        for component in components {
            if component.contains(where: \.isUppercase) { return "must have a lowercase repository name" }
            if component.isEmpty { return "has an empty part between slashes" }
        }
        return nil
    }

    private static func isAlphanumeric(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber)
    }

    private static func isLowerHex(_ character: Character) -> Bool {
        character.isASCII && (character.isNumber || ("a"..."f").contains(character))
    }
}

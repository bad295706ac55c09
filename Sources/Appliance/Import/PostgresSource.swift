import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Services
import Vault

/// Where the hosted stack's PostgreSQL database is: `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=...]`, or a
/// unix socket folder as libpq takes it, `postgres://USER@/DATABASE?host=/run/postgresql`. Never a password: that
/// comes from PGPASSWORD or standard input, so that it is in no command line or shell history.
struct PostgresTarget: Equatable {
    enum TLSMode: String { case disable, prefer, require }

    var user: String
    var database: String
    /// A TCP host, or nil with `socketFolder`.
    var host: String?
    var port: Int
    var socketFolder: String?
    var tls: TLSMode

    /// Parses `url`, naming what is wrong and how to write it.
    init(url: String) throws {
        let example = "e.g. postgres://postgres@db.example.com:5432/postgres?sslmode=require or postgres://postgres@/postgres?host=/run/postgresql"
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? "") else {
            throw CLIError("--url must be a postgres:// URL (\(example))")
        }
        guard parts.password == nil else {
            throw CLIError("--url must not hold the password (it would show in the process list and shell history): set PGPASSWORD or use --password-stdin")
        }
        let query = Dictionary((parts.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        for name in query.keys where !["host", "port", "sslmode", "user", "dbname"].contains(name) {
            throw CLIError("--url has an unknown parameter '\(name)'; known: host, port, sslmode, user, dbname")
        }
        user = query["user"] ?? parts.user ?? "postgres"
        let path = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        database = query["dbname"] ?? (path.isEmpty ? user : path)
        let portText = query["port"] ?? parts.port.map(String.init) ?? "5432"
        guard let port = Int(portText), (1...65_535).contains(port) else { throw CLIError("--url has port '\(portText)', not a port number") }
        self.port = port
        let hostParameter = query["host"]
        if let folder = hostParameter, folder.hasPrefix("/") {
            socketFolder = folder
            host = nil
        } else if let name = hostParameter ?? parts.host, !name.isEmpty {
            host = name
            socketFolder = nil
        } else {
            throw CLIError("--url names no host: give one, or a socket folder as ?host=/run/postgresql (\(example))")
        }
        let modeText = query["sslmode"] ?? (socketFolder == nil ? TLSMode.prefer.rawValue : TLSMode.disable.rawValue)
        guard let mode = TLSMode(rawValue: modeText) else {
            throw CLIError("--url has sslmode '\(modeText)'; use disable, prefer or require (certificates are always verified)")
        }
        tls = mode
    }

    /// Where this connects, for messages (no secret in it).
    var description: String {
        if let socketFolder { return "\(user)@\(database) on the socket in \(socketFolder)" }
        return "\(user)@\(host ?? ""):\(port)/\(database)"
    }
}

/// Reads the hosted stack's tables and the plain text of its vault's secrets over one PostgreSQL connection, in
/// one read-only, repeatable-read transaction (a consistent snapshot while the old stack keeps running).
struct PostgresSource {
    let connection: PostgresConnection
    let logger: Logger

    /// Connects to `target`, reads every table of ``HostedStackTable`` and the secrets its credentials refer to,
    /// and closes the connection.
    static func read(_ target: PostgresTarget, password: String?, logger: Logger) async throws -> HostedStackRows {
        var configuration: PostgresConnection.Configuration
        if let folder = target.socketFolder {
            configuration = .init(
                unixSocketPath: "\(folder)/.s.PGSQL.\(target.port)", username: target.user, password: password, database: target.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS
            switch target.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            configuration = .init(host: target.host ?? "", port: target.port, username: target.user, password: password, database: target.database, tls: tls)
        }
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch {
            throw CLIError("cannot connect to \(target.description): \(Self.describe(error))")
        }
        let source = PostgresSource(connection: connection, logger: logger)
        do {
            let rows = try await source.readAll()
            try? await connection.close()
            return rows
        } catch let error as CLIError {
            try? await connection.close()
            throw error
        } catch {
            try? await connection.close()
            throw CLIError("reading the hosted stack's database at \(target.description) failed: \(Self.describe(error))")
        }
    }

    private func readAll() async throws -> HostedStackRows {
        try await connection.query("START TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
        var tables: [HostedStackTable: [HostedStackRows.Row]] = [:]
        for table in HostedStackTable.allCases {
            tables[table] = try await rows(of: table)
        }
        let secrets = try await self.secrets()
        try await connection.query("COMMIT", logger: logger)
        return HostedStackRows(tables: tables, secrets: secrets)
    }

    /// The schema-qualified name of a table; users live in `public.users`, or in `auth.users` on Supabase.
    private func place(of table: HostedStackTable) async throws -> (schema: String, name: String, columns: Set<String>) {
        let schemas = table == .users ? ["public", "auth"] : ["public"]
        for schema in schemas {
            let columns = try await self.columns(schema, table.rawValue)
            if !columns.isEmpty { return (schema, table.rawValue, columns) }
        }
        throw CLIError("the database has no table \(schemas.map { "\($0).\(table.rawValue)" }.joined(separator: " or ")): is this the hosted stack's database?")
    }

    private func columns(_ schema: String, _ table: String) async throws -> Set<String> {
        let rows = try await connection.query(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = \(schema) AND table_name = \(table)", logger: logger)
        var names: Set<String> = []
        for try await (name) in rows.decode(String.self) { names.insert(name) }
        return names
    }

    private func rows(of table: HostedStackTable) async throws -> [HostedStackRows.Row] {
        let (schema, name, present) = try await place(of: table)
        let missing = table.required.filter { !present.contains($0) }
        guard missing.isEmpty else {
            throw CLIError("\(schema).\(name) lacks the column(s) \(missing.joined(separator: ", ")) that agentbox imports")
        }
        let select = table.columns.map { column -> String in
            guard present.contains(column) else { return "NULL::text" }
            return table.timeColumns.contains(column) ? "extract(epoch FROM \"\(column)\")::text" : "\"\(column)\"::text"
        }
        let sql = "SELECT \(select.joined(separator: ", ")) FROM \"\(schema)\".\"\(name)\" ORDER BY id"
        var result: [HostedStackRows.Row] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
            var fields: HostedStackRows.Row = [:]
            for (column, cell) in zip(table.columns, row) {
                if let bytes = cell.bytes { fields[column] = String(buffer: bytes) }
            }
            result.append(fields)
        }
        return result
    }

    /// The plain text of the vault secrets the credentials refer to, copied straight into guarded memory. The
    /// hosted vault's view shows it as `decrypted_secret` (Supabase Vault) or, in simpler stand-ins, `secret`.
    private func secrets() async throws -> [String: SecureBytes] {
        let columns = try await self.columns("vault", "decrypted_secrets")
        guard columns.contains("id"), let column = ["decrypted_secret", "secret"].first(where: columns.contains) else {
            throw CLIError("the database has no view vault.decrypted_secrets with id and decrypted_secret (or secret): the credentials cannot be read")
        }
        let sql = """
            SELECT lower(id::text), "\(column)"::text FROM vault.decrypted_secrets
            WHERE lower(id::text) IN (SELECT lower(encrypted_credentials::text) FROM public.agent_tool_credentials)
            """
        var secrets: [String: SecureBytes] = [:]
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
            let cells = Array(row)
            guard let idBytes = cells[0].bytes, let secretBytes = cells[1].bytes else { continue }
            secrets[String(buffer: idBytes)] = try secretBytes.withUnsafeReadableBytes { try SecureBytes(copying: $0) }
        }
        return secrets
    }

    /// A PostgreSQL error's message (PSQLError hides the server's words from its description).
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

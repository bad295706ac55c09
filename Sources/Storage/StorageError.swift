import Foundation
import GRDB

/// The one error type of the Storage module: what went wrong, what to do about it, and the underlying cause.
///
/// Messages name tables, columns and constraints but never contain SQL text or bound values.
/// Task cancellation is the one exception: it surfaces as `CancellationError`, as everywhere in Swift.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; match on it, not on the message.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case newerSchema
            case notFound
            case constraintViolation
            case uniqueViolation
            case foreignKeyViolation
            case checkViolation
            case notNullViolation
            case corrupt
            case cannotOpen
            case io
            case diskFull
            case readOnly
            case busy
            case invalidRow
            case unexpected
        }

        private let value: Value

        private init(_ value: Value) {
            self.value = value
        }

        /// The database has migrations this version of agentbox does not know.
        public static let newerSchema = Code(.newerSchema)
        /// The row asked for does not exist.
        public static let notFound = Code(.notFound)
        /// A rule of the schema other than the specific ones below refused the change (for example an append-only trigger).
        public static let constraintViolation = Code(.constraintViolation)
        /// A UNIQUE constraint or primary key already holds the value.
        public static let uniqueViolation = Code(.uniqueViolation)
        /// A reference points to a missing parent, or a parent still has children that block its deletion.
        public static let foreignKeyViolation = Code(.foreignKeyViolation)
        /// A CHECK constraint (allowed values, JSON validity, formats) refused a value.
        public static let checkViolation = Code(.checkViolation)
        /// A required column was given NULL.
        public static let notNullViolation = Code(.notNullViolation)
        /// The file is damaged or is not an SQLite database.
        public static let corrupt = Code(.corrupt)
        /// The database file cannot be opened.
        public static let cannotOpen = Code(.cannotOpen)
        /// The disk or file system failed.
        public static let io = Code(.io)
        /// The disk is full.
        public static let diskFull = Code(.diskFull)
        /// The database cannot be written.
        public static let readOnly = Code(.readOnly)
        /// Another connection held a lock longer than the busy time-out.
        public static let busy = Code(.busy)
        /// A stored row could not be turned into its record type.
        public static let invalidRow = Code(.invalidRow)
        /// Any other SQLite failure.
        public static let unexpected = Code(.unexpected)

        public var description: String { value.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened and what to do, for people.
    public var message: String
    /// The table SQLite named, when it named one.
    public var table: String?
    /// The columns SQLite named (UNIQUE, NOT NULL), in its order.
    public var columns: [String]
    /// The name of the CHECK constraint that failed (`table.column` or `table.rule`).
    public var constraint: String?
    /// The underlying error, for logs.
    public var cause: (any Error)?

    /// Makes an error; `message` should say what happened and what to do.
    public init(
        code: Code,
        message: String,
        table: String? = nil,
        columns: [String] = [],
        constraint: String? = nil,
        cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.table = table
        self.columns = columns
        self.constraint = constraint
        self.cause = cause
    }

    public var description: String { "StorageError(\(code)): \(message)" }
}

// MARK: - Mapping errors of GRDB and SQLite

extension StorageError {
    /// Maps any error thrown inside a database access to the error the module throws.
    ///
    /// `StorageError`, `CancellationError` and errors that are not GRDB's (thrown by a caller's code inside a
    /// ``Transaction``) pass through unchanged.
    static func mapping(_ error: any Error) -> any Error {
        switch error {
        case let error as StorageError:
            return error
        case let error as CancellationError:
            return error
        case let error as DatabaseError:
            if error.isInterruptionError, Task.isCancelled {
                return CancellationError()
            }
            return StorageError(databaseError: error)
        case let RecordError.recordNotFound(databaseTableName: table, key: key):
            let keyText = key.sorted { $0.key < $1.key }
                .map { "\($0.key) \(String.fromDatabaseValue($0.value) ?? $0.value.description)" }
                .joined(separator: ", ")
            return StorageError(
                code: .notFound,
                message: "no \(table) row has \(keyText); it may have been deleted, so fetch the current rows and retry",
                table: table,
                cause: error)
        case let error as RowDecodingError:
            return StorageError(
                code: .invalidRow,
                message: "a stored row could not be read as its record type; the database may have been edited by hand "
                    + "or by a newer agentbox: check it with the integrity checks or restore a backup",
                cause: error)
        default:
            // Not GRDB's: an error thrown by the caller's own code inside a transaction passes through unchanged.
            return error
        }
    }

    /// Maps a GRDB `DatabaseError` by its extended result code, naming the table, columns or constraint SQLite gives.
    init(databaseError error: DatabaseError) {
        let detail = Self.constraintDetail(of: error.message)
        var code = error.extendedResultCode
        // ON DELETE RESTRICT is enforced by a trigger SQLite writes itself, so it fails with SQLITE_CONSTRAINT_TRIGGER.
        if error.resultCode == .SQLITE_CONSTRAINT, error.message == "FOREIGN KEY constraint failed" {
            code = .SQLITE_CONSTRAINT_FOREIGNKEY
        }
        switch code {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY, .SQLITE_CONSTRAINT_ROWID:
            let (table, columns) = Self.tableAndColumns(detail)
            let target = Self.describe(table: table, columns: columns)
            self.init(
                code: .uniqueViolation,
                message: "\(target) must be unique and a row with the same value already exists; "
                    + "choose another value or change the existing row",
                table: table, columns: columns, cause: error)
        case .SQLITE_CONSTRAINT_FOREIGNKEY:
            self.init(
                code: .foreignKeyViolation,
                message: "a foreign key check failed: the row refers to a parent row that does not exist, "
                    + "or a row that is being deleted still has dependent rows; create the parent first, "
                    + "or remove the dependent rows before deleting",
                cause: error)
        case .SQLITE_CONSTRAINT_CHECK:
            let constraint = detail.flatMap(Self.identifierPath)
            let table = constraint.flatMap { $0.split(separator: ".").first.map(String.init) }
            self.init(
                code: .checkViolation,
                message: "the value for \(constraint ?? "a column") is not allowed by its CHECK constraint "
                    + "(allowed values, JSON validity, id or time format); use a value the schema allows",
                table: table, constraint: constraint, cause: error)
        case .SQLITE_CONSTRAINT_NOTNULL:
            let (table, columns) = Self.tableAndColumns(detail)
            self.init(
                code: .notNullViolation,
                message: "\(Self.describe(table: table, columns: columns)) must not be NULL; provide a value",
                table: table, columns: columns, cause: error)
        case .SQLITE_CONSTRAINT_TRIGGER:
            // The text is the one of our own RAISE(ABORT, ...), never SQL.
            let reason = error.message.map { $0.replacingOccurrences(of: "\n", with: " ") } ?? "a trigger refused the change"
            self.init(
                code: .constraintViolation,
                message: "\(reason); the database refuses this change",
                cause: error)
        default:
            switch error.resultCode {
            case .SQLITE_CONSTRAINT:
                self.init(
                    code: .constraintViolation,
                    message: "a constraint of the schema refused the change; check the values against the schema",
                    cause: error)
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                self.init(
                    code: .corrupt,
                    message: "the database file is damaged or is not an agentbox database; "
                        + "stop the service and restore the file from a backup",
                    cause: error)
            case .SQLITE_CANTOPEN:
                self.init(
                    code: .cannotOpen,
                    message: "the database file cannot be opened; check that its folder exists "
                        + "and that the service user may read and write both",
                    cause: error)
            case .SQLITE_IOERR:
                self.init(
                    code: .io,
                    message: "a disk I/O error occurred while using the database; check the disk and the file system",
                    cause: error)
            case .SQLITE_FULL:
                self.init(
                    code: .diskFull,
                    message: "the disk holding the database is full; free some space and retry",
                    cause: error)
            case .SQLITE_READONLY, .SQLITE_PERM:
                self.init(
                    code: .readOnly,
                    message: "the database cannot be written; check the permissions of the file, "
                        + "its -wal and -shm files and its folder",
                    cause: error)
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                self.init(
                    code: .busy,
                    message: "the database stayed locked longer than the busy time-out; retry, "
                        + "and check that no other process holds a long transaction on it",
                    cause: error)
            default:
                self.init(
                    code: .unexpected,
                    message: "SQLite failed with result code \(code.rawValue); see the cause in the logs",
                    cause: error)
            }
        }
    }

    /// The part of a constraint message after "... failed: ".
    private static func constraintDetail(of message: String?) -> String? {
        guard let message, let range = message.range(of: "failed: ") else { return nil }
        return String(message[range.upperBound...])
    }

    /// Splits "t.a, t.b" into ("t", ["a", "b"]); anything that is not a list of identifiers yields nothing.
    private static func tableAndColumns(_ detail: String?) -> (String?, [String]) {
        guard let detail else { return (nil, []) }
        var table: String?
        var columns: [String] = []
        for part in detail.split(separator: ",") {
            guard let path = identifierPath(part.trimmingCharacters(in: .whitespaces)) else { return (nil, []) }
            let pieces = path.split(separator: ".", maxSplits: 1).map(String.init)
            guard pieces.count == 2 else { return (nil, []) }
            table = pieces[0]
            columns.append(pieces[1])
        }
        return (table, columns)
    }

    /// Returns `text` when it is `identifier` or `identifier.identifier`, nil otherwise (so no SQL is ever echoed).
    private static func identifierPath(_ text: String) -> String? {
        let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(pieces.count) else { return nil }
        for piece in pieces {
            guard let first = piece.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
                piece.utf8.allSatisfy(isIdentifierByte)
            else { return nil }
        }
        return text
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    private static func describe(table: String?, columns: [String]) -> String {
        guard let table, !columns.isEmpty else { return "a value" }
        if columns.count == 1 { return "\(table).\(columns[0])" }
        return "\(table) (\(columns.joined(separator: ", ")))"
    }
}

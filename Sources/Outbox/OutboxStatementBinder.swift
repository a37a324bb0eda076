import GRDB

/// A value for one parameter of the outbox's chunk inserts. Text and blob values point into
/// memory the caller keeps valid until ``OutboxStatementBinder/run(_:values:in:)`` returns.
public enum OutboxBoundValue {
    case integer(Int64)
    case real(Double)
    /// UTF-8 bytes.
    case text(UnsafeRawBufferPointer)
    case blob(UnsafeRawBufferPointer)
}

/// How the intake's statements (the chunk inserts, and the one-value lookups a commit makes
/// per document) get their values to SQLite: the one seam between the outbox and SQLite's
/// C API.
///
/// The outbox builds the statements and says what goes where; a binder binds `values[i]` to
/// parameter `i + 1`, steps the statement to its end once, and leaves no binding behind.
/// ``GRDBStatementBinder`` goes through GRDB's arguments (copying text and payloads into
/// Swift values first); the agent uses `SQLiteDirectBinder` (the `SQLiteDirectBinding`
/// module), which binds the caller's bytes where they are. `outbox.direct_binding: false`
/// chooses the first.
public protocol OutboxStatementBinder: Sendable {
    /// Binds `values` to `statement` and runs it; throws SQLite's error when the step fails.
    func run(_ statement: Statement, values: [OutboxBoundValue], in db: Database) throws

    /// Binds `values` to `statement`, steps it once and returns its first row's first column
    /// as an integer; nil when there is no row or that value is NULL. Leaves no binding and no
    /// statement open; throws SQLite's error when the step fails.
    func firstInteger(_ statement: Statement, values: [OutboxBoundValue], in db: Database) throws -> Int64?
}

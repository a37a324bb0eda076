import GRDB
import GRDBSQLite
import Outbox

/// Binds the outbox's chunk inserts straight to SQLite's statement (`sqlite3_bind_*`), the
/// text and payload bytes where the caller holds them: SQLite copies them into its page
/// during the step and nothing copies them before. No binding outlives the run.
///
/// Stepped here rather than through GRDB's `execute`, so GRDB's transaction observers do not
/// hear of these inserts (the outbox registers none).
public struct SQLiteDirectBinder: OutboxStatementBinder {
    public init() {}

    public func run(_ statement: Statement, values: [OutboxBoundValue], in db: Database) throws {
        let handle = statement.sqliteStatement
        bind(values, to: handle)
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        guard code == SQLITE_DONE else { throw Self.error(code, of: handle, in: db) }
    }

    public func firstInteger(_ statement: Statement, values: [OutboxBoundValue], in db: Database) throws -> Int64? {
        let handle = statement.sqliteStatement
        bind(values, to: handle)
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW:
            return sqlite3_column_type(handle, 0) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, 0)
        case SQLITE_DONE:
            return nil
        default:
            throw Self.error(code, of: handle, in: db)
        }
    }

    private func bind(_ values: [OutboxBoundValue], to handle: OpaquePointer?) {
        for (index, value) in values.enumerated() {
            let parameter = Int32(index + 1)
            // Static (no destructor): SQLite reads the bytes during the step only, and the
            // bindings are cleared right after it.
            switch value {
            case .integer(let integer): sqlite3_bind_int64(handle, parameter, integer)
            case .real(let real): sqlite3_bind_double(handle, parameter, real)
            case .text(let bytes):
                sqlite3_bind_text(
                    handle, parameter, (bytes.baseAddress ?? Self.emptyValue).assumingMemoryBound(to: CChar.self),
                    Int32(bytes.count), nil)
            case .blob(let bytes):
                sqlite3_bind_blob(handle, parameter, bytes.baseAddress ?? Self.emptyValue, Int32(bytes.count), nil)
            }
        }
    }

    /// SQLite's error for a step that ended with `code` (read before the statement is reset).
    private static func error(_ code: Int32, of handle: OpaquePointer?, in db: Database) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
            sql: String(cString: sqlite3_sql(handle)))
    }

    /// An address for empty values (an empty buffer may have none; SQLite wants one).
    private static var emptyValue: UnsafeRawPointer { UnsafeRawPointer(("" as StaticString).utf8Start) }
}

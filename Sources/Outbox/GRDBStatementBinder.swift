import Foundation
import GRDB

/// Binds through GRDB's ``StatementArguments``: each text becomes a `String` and each blob a
/// `Data` before GRDB hands them to SQLite. No C API of its own.
public struct GRDBStatementBinder: OutboxStatementBinder {
    public init() {}

    public func run(_ statement: Statement, values: [OutboxBoundValue], in db: Database) throws {
        try statement.execute(arguments: Self.arguments(values))
    }

    public func firstInteger(_ statement: Statement, values: [OutboxBoundValue], in db: Database) throws -> Int64? {
        try Int64.fetchOne(statement, arguments: Self.arguments(values))
    }

    private static func arguments(_ values: [OutboxBoundValue]) -> StatementArguments {
        StatementArguments(values.map { value -> (any DatabaseValueConvertible)? in
            switch value {
            case .integer(let integer): integer
            case .real(let real): real
            case .text(let bytes): String(decoding: bytes, as: UTF8.self)
            case .blob(let bytes): Data(bytes)
            }
        })
    }
}

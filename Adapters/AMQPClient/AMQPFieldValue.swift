/// A value in an AMQP field table (message headers, queue arguments).
public indirect enum AMQPFieldValue: Sendable, Equatable {
    case string(String)
    case bytes([UInt8])
    case bool(Bool)
    /// Every integer width (signed and unsigned); sent as a signed 64-bit integer.
    case int(Int64)
    case double(Double)
    /// `value / 10^scale`.
    case decimal(scale: UInt8, value: UInt32)
    /// Seconds since 1970.
    case timestamp(UInt64)
    case table([String: AMQPFieldValue])
    case array([AMQPFieldValue])
    case void

    /// The value as text when it is a scalar (string, number, boolean, timestamp); nil for
    /// tables, arrays, byte strings and void.
    public var scalarText: String? {
        switch self {
        case .string(let s): s
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .double(let d): String(d)
        case .decimal(let scale, let value): Self.decimalText(scale: scale, value: value)
        case .timestamp(let t): String(t)
        case .bytes, .table, .array, .void: nil
        }
    }

    private static func decimalText(scale: UInt8, value: UInt32) -> String {
        guard scale > 0 else { return String(value) }
        var digits = String(value)
        let places = Int(scale)
        if digits.count <= places { digits = String(repeating: "0", count: places - digits.count + 1) + digits }
        digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -places))
        return digits
    }
}

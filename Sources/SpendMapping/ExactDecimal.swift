/// A decimal number held exactly: an integer significand and a count of decimal places.
/// Amounts and quantities of the canonical model are these, written as plain decimal strings
/// (`"5378.00"`, `"-12.5"`), never as binary floating point.
public struct ExactDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    public private(set) var significand: Int128
    public private(set) var scale: Int

    /// Most decimal places accepted.
    public static let maximumScale = 12
    public static let zero = ExactDecimal(significand: 0, scale: 0)

    public init(significand: Int128, scale: Int) {
        self.significand = significand
        self.scale = scale
    }

    /// Parses an IDoc amount: digits with an optional `.` and decimals, an optional sign in
    /// front or SAP's trailing `-`, blanks around. `nil` for anything else (`1,5`, `1e3`, empty).
    public init?(_ text: some StringProtocol) {
        var bytes = Array(text.utf8)
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
        var start = 0
        while start < bytes.count, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        var negative = false
        if start < bytes.count, bytes[start] == 0x2D || bytes[start] == 0x2B {
            negative = bytes[start] == 0x2D
            start += 1
        } else if let last = bytes.last, last == 0x2D {
            negative = true
            bytes.removeLast()
        }
        var value: Int128 = 0
        var digits = 0
        var decimals = -1
        for index in start..<bytes.count {
            let byte = bytes[index]
            if byte == 0x2E {
                guard decimals < 0 else { return nil }
                decimals = 0
                continue
            }
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let (times, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (plus, overflowB) = times.addingReportingOverflow(Int128(byte - 0x30))
            guard !overflowA, !overflowB, digits < 36 else { return nil }
            value = plus
            digits += 1
            if decimals >= 0 { decimals += 1 }
        }
        guard digits > 0, decimals != 0, decimals <= Self.maximumScale else { return nil }
        significand = negative ? -value : value
        scale = max(decimals, 0)
    }

    public var description: String {
        let magnitude = significand.magnitude
        var digits = String(magnitude)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return significand < 0 ? "-" + digits : digits
    }

    public var isZero: Bool { significand == 0 }

    /// This number with `places` decimals (more decimals only; fewer would round).
    func widened(to places: Int) -> ExactDecimal {
        guard places > scale else { return self }
        var result = significand
        for _ in scale..<places { result *= 10 }
        return ExactDecimal(significand: result, scale: places)
    }

    public static func + (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        let places = max(lhs.scale, rhs.scale)
        return ExactDecimal(significand: lhs.widened(to: places).significand + rhs.widened(to: places).significand, scale: places)
    }

    public static prefix func - (value: ExactDecimal) -> ExactDecimal {
        ExactDecimal(significand: -value.significand, scale: value.scale)
    }

    public static func - (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal { lhs + -rhs }

    public static func += (lhs: inout ExactDecimal, rhs: ExactDecimal) { lhs = lhs + rhs }

    public static func < (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
        let places = max(lhs.scale, rhs.scale)
        return lhs.widened(to: places).significand < rhs.widened(to: places).significand
    }

    public static func == (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
        let places = max(lhs.scale, rhs.scale)
        return lhs.widened(to: places).significand == rhs.widened(to: places).significand
    }

    public func hash(into hasher: inout Hasher) {
        var trimmed = self
        while trimmed.scale > 0, trimmed.significand % 10 == 0 {
            trimmed = ExactDecimal(significand: trimmed.significand / 10, scale: trimmed.scale - 1)
        }
        hasher.combine(trimmed.significand)
        hasher.combine(trimmed.scale)
    }

    /// `self × numerator ÷ denominator`, rounded half to even to `places` decimals; `nil` when
    /// the denominator is zero or the result does not fit.
    public func scaled(by numerator: ExactDecimal, over denominator: ExactDecimal, places: Int) -> ExactDecimal? {
        guard !denominator.isZero else { return nil }
        // value = s·n / d, with s, n, d significands; scale = scale_s + scale_n - scale_d.
        var top = significand.multipliedReportingOverflow(by: numerator.significand)
        guard !top.overflow else { return nil }
        var bottom = denominator.significand
        var shift = places - (scale + numerator.scale - denominator.scale)
        while shift > 0 {
            top = top.partialValue.multipliedReportingOverflow(by: 10)
            guard !top.overflow else { return nil }
            shift -= 1
        }
        while shift < 0 {
            let (product, overflow) = bottom.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            bottom = product
            shift += 1
        }
        if bottom < 0 {
            bottom = -bottom
            top = (-top.partialValue, false)
        }
        let (quotient, remainder) = top.partialValue.quotientAndRemainder(dividingBy: bottom)
        var result = quotient
        let twice = remainder.magnitude * 2
        if twice > bottom.magnitude || (twice == bottom.magnitude && quotient % 2 != 0) {
            result += top.partialValue < 0 ? -1 : 1
        }
        return ExactDecimal(significand: result, scale: places)
    }
}

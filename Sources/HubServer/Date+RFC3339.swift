import Foundation

extension Date {
    /// `2026-11-26T10:15:00Z` (UTC, whole seconds) for the hub's JSON answers.
    var rfc3339: String { formatted(.iso8601) }

    /// Parses an RFC 3339 time stamp, with or without fractional seconds; nil when malformed.
    init?(rfc3339 text: String) {
        if let date = try? Date(text, strategy: .iso8601) {
            self = date
        } else if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            self = date
        } else {
            return nil
        }
    }
}

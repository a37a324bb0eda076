import Foundation

extension Date {
    /// `2026-11-26T10:15:00Z` (UTC, whole seconds) for the hub's JSON answers.
    var rfc3339: String { formatted(.iso8601) }
}

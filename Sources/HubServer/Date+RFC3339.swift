import EventModel
import Foundation

extension Date {
    /// `2026-11-26T10:15:00Z` (UTC, whole seconds) for the hub's JSON answers.
    var rfc3339: String { RFC3339.format(timeIntervalSince1970.rounded(.down)) }

    /// Parses an RFC 3339 time stamp, with or without fractional seconds; nil when malformed.
    init?(rfc3339 text: String) {
        guard let seconds = RFC3339.parse(text) else { return nil }
        self.init(timeIntervalSince1970: seconds)
    }
}

import Foundation

/// A page of stored events in arrival order.
public struct EventPage: Sendable, Equatable {
    /// Each event's JSON as it was received.
    public var events: [Data]
    /// Where the next page starts, or `nil` when no further matching event is stored.
    public var next: EventCursor?

    public init(events: [Data], next: EventCursor?) {
        self.events = events
        self.next = next
    }
}

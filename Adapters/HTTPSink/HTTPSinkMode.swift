/// How the HTTP sink puts events into requests (`hub.mode`).
public enum HTTPSinkMode: String, Sendable, Equatable, CaseIterable {
    /// A whole batch per request as `application/cloudevents-batch+json` (the Outpost hub).
    case batch
    /// One event per request as `application/cloudevents+json` (any CloudEvents HTTP receiver).
    case structured
    /// One event per request: `data` as the body, the other attributes as `ce-` headers.
    case binary
}

import EventModel
import Logging

/// The per-document log line (`document.committed`, debug level) and the trace context it
/// carries, so one IDoc can be followed from pickup to its row at the hub.
enum DocumentLog {
    /// The trace context the encoder put on the document's event: the source's own, or the
    /// one derived from the input's hash and the document's ordinal.
    static func traceparent(origin: DocumentOrigin, ordinal: Int) -> String {
        origin.traceparent ?? Traceparent.derived(fileSHA256: origin.fileSHA256, ordinal: ordinal)
    }

    static func committed(_ event: EncodedEvent, origin: DocumentOrigin, logger: Logger) {
        var metadata: Logger.Metadata = [
            "source": "\(origin.sourceName)", "file": "\(origin.fileName)", "event_id": "\(event.id)",
            "traceparent": "\(traceparent(origin: origin, ordinal: event.ordinal))",
        ]
        if !event.docnum.isEmpty { metadata["docnum"] = "\(event.docnum)" }
        logger.debug("document.committed", metadata: metadata)
    }
}

import Foundation

/// Builds an event's CloudEvents 1.0 JSON (its attributes: README, "What it guarantees") straight into bytes.
///
/// One encoder serves one input (file or message): it formats the per-input attributes once
/// and reuses its buffer, so each document costs one escape pass over its data and one copy.
public struct CloudEventEncoder {
    public let origin: DocumentOrigin
    private let time: String
    private let extensions: [UInt8]
    /// `,"traceparent":"00-<trace id>-` for documents when the source gave no trace context:
    /// the trace id is the input's, only the span id differs from one document to the next.
    private let traceparentStart: [UInt8]
    /// The members that are the same for every document of the input, written (escaped) once:
    /// `source`; `time`; `agentid` and `region`; `filename` and `filesha256`.
    private let sourceMember: [UInt8]
    private let timeMember: [UInt8]
    private let agentMembers: [UInt8]
    private let fileMembers: [UInt8]
    private var writer = JSONWriter(capacity: 8192)

    public init(origin: DocumentOrigin) {
        self.origin = origin
        self.time = RFC3339.format(origin.pickupTime)
        self.extensions = ExtensionAttributes.members(origin.attributes)
        func members(_ write: (inout JSONWriter) -> Void) -> [UInt8] {
            var members = JSONWriter(capacity: 256)
            write(&members)
            return members.bytes
        }
        sourceMember = members { $0.member("source", origin.eventSource) }
        timeMember = members { [time] in $0.member("time", time) }
        agentMembers = members {
            $0.member("agentid", origin.agentID)
            $0.member("region", origin.region)
        }
        fileMembers = members {
            $0.member("filename", origin.fileName)
            $0.member("filesha256", origin.fileSHA256)
        }
        var start = Array(",\"traceparent\":\"".utf8)
        Traceparent.prefix(fileSHA256: origin.fileSHA256).withUnsafeBytes { JSONWriter.appendEscaped($0, to: &start) }
        traceparentStart = start
    }

    /// The event for one document of the input.
    public mutating func encode(_ record: DocumentRecord) -> EncodedEvent {
        let control = record.control
        let id = EventIdentity.id(control: control, fileSHA256: origin.fileSHA256, ordinal: record.ordinal)
        let type = control?.eventType ?? "outpost.document.raw"
        let subject = control.map { $0.docnum.isEmpty ? String(record.ordinal) : $0.docnum } ?? String(record.ordinal)
        let key = EventIdentity.partitionKey(control: control, origin: origin)

        writer.reset()
        writer.raw("{\"specversion\":\"1.0\"")
        writer.member("id", id)
        writer.raw(sourceMember)
        writer.member("type", type)
        writer.member("subject", subject)
        writer.raw(timeMember)
        writer.member("datacontenttype", record.contentType)
        if record.isText {
            writer.raw(",\"data\":")
            writer.string(record.data)
        } else {
            writer.raw(",\"data_base64\":\"")
            writer.raw(Data(record.data).base64EncodedData())
            writer.raw("\"")
        }
        writer.member("partitionkey", key)
        writer.raw(agentMembers)
        if let control {
            writer.member("idoctype", control.idoctyp)
            if !control.cimtyp.isEmpty { writer.member("cimtype", control.cimtyp) }
            writer.member("mestyp", control.mestyp)
            writer.member("docnum", control.docnum)
            writer.member("mandt", control.mandt)
            writer.member("sndprn", control.sndprn)
            writer.member("rcvprn", control.rcvprn)
            let stamp = control.creationStamp
            if !stamp.isEmpty { writer.member("credat", stamp) }
        }
        writer.raw(fileMembers)
        writer.raw(",\"ordinal\":\"")
        writer.decimal(record.ordinal)
        writer.raw("\"")
        writer.raw(extensions)
        if let traceparent = origin.traceparent {
            writer.member("traceparent", traceparent)
        } else {
            // Traceparent.derived(fileSHA256:ordinal:), written without building a String.
            writer.raw(traceparentStart)
            writer.hex(Traceparent.spanID(ordinal: record.ordinal), digits: 16)
            writer.raw("-01\"")
        }
        writer.raw("}")
        return EncodedEvent(
            id: id, type: type, subject: subject, partitionKey: key, json: writer.exactBytes, ordinal: record.ordinal,
            docnum: control?.docnum ?? "")
    }

    /// The `outpost.document.rejected` event for an input that was quarantined.
    ///
    /// - Parameters:
    ///   - fingerprint: the input's SHA-256 when it was read, else a stable stand-in
    ///     (name, size, mtime) so that the same rejected file yields the same id.
    ///   - size: the input's size in bytes.
    ///   - quarantinedAs: where the input was moved, if anywhere.
    public mutating func rejection(
        _ rejection: DocumentRejection, fingerprint: String, size: Int64, quarantinedAs: String?
    ) -> EncodedEvent {
        let id = EventIdentity.rejectionID(sourceName: origin.sourceName, fingerprint: fingerprint)
        let type = "outpost.document.rejected"
        var data = JSONWriter(capacity: 512)
        data.raw("{")
        data.member("reason", rejection.code.rawValue, comma: false)
        data.member("detail", rejection.detail)
        data.member("filename", origin.fileName)
        data.raw(",\"size\":")
        data.raw(Array(String(size).utf8))
        if !origin.fileSHA256.isEmpty { data.member("filesha256", origin.fileSHA256) }
        if let quarantinedAs { data.member("quarantined_as", quarantinedAs) }
        data.raw("}")

        writer.reset()
        writer.raw("{\"specversion\":\"1.0\"")
        writer.member("id", id)
        writer.member("source", origin.eventSource)
        writer.member("type", type)
        writer.member("subject", origin.fileName)
        writer.member("time", time)
        writer.member("datacontenttype", "application/json")
        writer.raw(",\"data\":")
        writer.raw(data.bytes)
        let key = "rejected:\(origin.sourceName)"
        writer.member("partitionkey", key)
        writer.member("agentid", origin.agentID)
        writer.member("region", origin.region)
        writer.member("filename", origin.fileName)
        if !origin.fileSHA256.isEmpty { writer.member("filesha256", origin.fileSHA256) }
        writer.member("reason", rejection.code.rawValue)
        writer.raw(extensions)
        writer.member("traceparent", origin.traceparent ?? Traceparent.derived(fileSHA256: fingerprint, ordinal: 0))
        writer.raw("}")
        return EncodedEvent(id: id, type: type, subject: origin.fileName, partitionKey: key, json: writer.exactBytes)
    }
}

/// W3C trace context helpers.
public enum Traceparent {
    /// A trace context derived from the input's hash and the document's ordinal, so that a
    /// document re-read after a crash carries the same trace id as the first attempt.
    public static func derived(fileSHA256: String, ordinal: Int) -> String {
        var span = JSONWriter(capacity: 16)
        span.hex(spanID(ordinal: ordinal), digits: 16)
        return String(decoding: prefix(fileSHA256: fileSHA256) + span.bytes, as: UTF8.self) + "-01"
    }

    /// `00-<trace id>-`: the version and the trace id, the first 32 hex digits of the hash
    /// (zero-padded; never all zeros, which W3C forbids).
    static func prefix(fileSHA256: String) -> [UInt8] {
        var hex = Array(fileSHA256.utf8.prefix(32))
        while hex.count < 32 { hex.append(UInt8(ascii: "0")) }
        if hex.allSatisfy({ $0 == UInt8(ascii: "0") }) { hex[31] = UInt8(ascii: "1") }
        return Array("00-".utf8) + hex + [UInt8(ascii: "-")]
    }

    /// The span id of the document with this ordinal (never 0, which W3C forbids).
    static func spanID(ordinal: Int) -> UInt64 { UInt64(ordinal) &+ 1 }
}

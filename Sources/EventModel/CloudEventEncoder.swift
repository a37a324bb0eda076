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
            id: id, type: type, subject: subject, partitionKey: key, json: writer.bytes, ordinal: record.ordinal,
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
        return EncodedEvent(id: id, type: type, subject: origin.fileName, partitionKey: key, json: writer.bytes)
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

/// RFC 3339 UTC timestamps without Foundation's formatters (which are slow and locale-bound).
public enum RFC3339 {
    /// `2026-11-26T10:15:00Z` (with `.sss` when the time has a fraction of a second).
    public static func format(_ seconds: Double, milliseconds: Bool = false) -> String {
        let whole = Int64(seconds.rounded(.down))
        let days = whole >= 0 ? whole / 86400 : (whole - 86399) / 86400
        let secs = whole - days * 86400
        let (y, m, d) = civil(fromDays: days)
        func pad(_ v: Int64, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        var out = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2))"
        if milliseconds {
            let ms = Int64(((seconds - Double(whole)) * 1000).rounded(.down))
            out += "." + pad(min(999, max(0, ms)), 3)
        }
        return out + "Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`; returns seconds since 1970.
    public static func parse(_ text: String) -> Double? {
        let b = Array(text.utf8)
        guard b.count >= 20 else { return nil }
        func num(_ from: Int, _ len: Int) -> Int64? {
            var v: Int64 = 0
            for i in from..<(from + len) {
                guard i < b.count, b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard let y = num(0, 4), b[4] == 45, let mo = num(5, 2), b[7] == 45, let d = num(8, 2),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == 32,
              let h = num(11, 2), b[13] == 58, let mi = num(14, 2), b[16] == 58, let s = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 0.1
            while i < b.count, b[i] >= 48, b[i] <= 57 { fraction += Double(b[i] - 48) * scale; scale /= 10; i += 1 }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            guard let oh = num(i + 1, 2), b.count > i + 3, b[i + 3] == 58, let om = num(i + 4, 2) else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == 45 ? -1 : 1)
            i += 6
        } else { return nil }
        guard i == b.count else { return nil }
        let days = daysFromCivil(y, mo, d)
        return Double(days * 86400 + h * 3600 + mi * 60 + s - offset) + fraction
    }

    // Howard Hinnant's civil calendar algorithms.
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}

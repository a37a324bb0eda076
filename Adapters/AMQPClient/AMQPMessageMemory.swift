internal import CRabbitMQ
import Foundation

/// C memory for one outgoing message (strings, tables, property structs), freed together
/// when the arena goes away. Lives only for the duration of one `amqp_basic_publish`.
final class AMQPMessageMemory {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit {
        for block in blocks { free(block) }
    }

    func bytes(_ text: String) -> amqp_bytes_t {
        var text = text
        return text.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
    }

    func bytes(_ buffer: UnsafeRawBufferPointer) -> amqp_bytes_t {
        guard buffer.count > 0, let base = buffer.baseAddress, let copy = malloc(buffer.count) else {
            return amqp_bytes_t(len: 0, bytes: nil)
        }
        memcpy(copy, base, buffer.count)
        blocks.append(copy)
        return amqp_bytes_t(len: buffer.count, bytes: copy)
    }

    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = malloc(max(1, count) * MemoryLayout<T>.stride)!
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(1, count))
    }

    /// A message's headers, in their order.
    func table(_ headers: AMQPHeaders) -> amqp_table_t {
        table(headers.entries.lazy.map { ($0.name, $0.value) })
    }

    /// A nested table, its names sorted (so that it is written the same way every time).
    func table(_ fields: [String: AMQPFieldValue]) -> amqp_table_t {
        table(fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    private func table(_ entries: some Collection<(String, AMQPFieldValue)>) -> amqp_table_t {
        guard !entries.isEmpty else { return camqp_empty_table() }
        let table = allocate(amqp_table_entry_t.self, count: entries.count)
        for (i, (name, field)) in entries.enumerated() {
            table[i] = amqp_table_entry_t(key: bytes(name), value: value(field))
        }
        return amqp_table_t(num_entries: Int32(entries.count), entries: table)
    }

    func value(_ field: AMQPFieldValue) -> amqp_field_value_t {
        var v = amqp_field_value_t()
        switch field {
        case .string(let s):
            v.kind = UInt8(ascii: "S")
            v.value.bytes = bytes(s)
        case .bytes(let b):
            v.kind = UInt8(ascii: "x")
            v.value.bytes = b.withUnsafeBytes { bytes($0) }
        case .bool(let b):
            v.kind = UInt8(ascii: "t")
            v.value.boolean = b ? 1 : 0
        case .int(let i):
            v.kind = UInt8(ascii: "l")
            v.value.i64 = i
        case .double(let d):
            v.kind = UInt8(ascii: "d")
            v.value.f64 = d
        case .decimal(let scale, let value):
            v.kind = UInt8(ascii: "D")
            v.value.decimal = amqp_decimal_t(decimals: scale, value: value)
        case .timestamp(let t):
            v.kind = UInt8(ascii: "T")
            v.value.u64 = t
        case .table(let t):
            v.kind = UInt8(ascii: "F")
            v.value.table = table(t)
        case .array(let items):
            v.kind = UInt8(ascii: "A")
            let entries = allocate(amqp_field_value_t.self, count: items.count)
            for (i, item) in items.enumerated() { entries[i] = value(item) }
            v.value.array = amqp_array_t(num_entries: Int32(items.count), entries: entries)
        case .void:
            v.kind = UInt8(ascii: "V")
        }
        return v
    }

    func properties(_ p: AMQPProperties) -> amqp_basic_properties_t {
        var out = amqp_basic_properties_t()
        var flags: UInt32 = 0
        func text(_ value: String?, _ flag: Int32, _ set: (amqp_bytes_t) -> Void) {
            guard let value else { return }
            flags |= UInt32(flag)
            set(bytes(value))
        }
        text(p.contentType, AMQP_BASIC_CONTENT_TYPE_FLAG) { out.content_type = $0 }
        text(p.contentEncoding, AMQP_BASIC_CONTENT_ENCODING_FLAG) { out.content_encoding = $0 }
        text(p.correlationID, AMQP_BASIC_CORRELATION_ID_FLAG) { out.correlation_id = $0 }
        text(p.replyTo, AMQP_BASIC_REPLY_TO_FLAG) { out.reply_to = $0 }
        text(p.expiration, AMQP_BASIC_EXPIRATION_FLAG) { out.expiration = $0 }
        text(p.messageID, AMQP_BASIC_MESSAGE_ID_FLAG) { out.message_id = $0 }
        text(p.type, AMQP_BASIC_TYPE_FLAG) { out.type = $0 }
        text(p.appID, AMQP_BASIC_APP_ID_FLAG) { out.app_id = $0 }
        if !p.headers.isEmpty {
            flags |= UInt32(AMQP_BASIC_HEADERS_FLAG)
            out.headers = table(p.headers)
        }
        flags |= UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG)
        out.delivery_mode = p.persistent ? 2 : 1
        if let priority = p.priority {
            flags |= UInt32(AMQP_BASIC_PRIORITY_FLAG)
            out.priority = priority
        }
        if let timestamp = p.timestamp {
            flags |= UInt32(AMQP_BASIC_TIMESTAMP_FLAG)
            out.timestamp = timestamp
        }
        out._flags = flags
        return out
    }
}

/// Reading C values back into Swift.
enum CDecode {
    static func string(_ b: amqp_bytes_t) -> String {
        guard b.len > 0, let base = b.bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: base, count: b.len), as: UTF8.self)
    }

    static func array(_ b: amqp_bytes_t) -> [UInt8] {
        guard b.len > 0, let base = b.bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: b.len))
    }

    static func table(_ t: amqp_table_t) -> [String: AMQPFieldValue] {
        Dictionary(headers(t).entries.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// A message's headers, in the order they came.
    static func headers(_ t: amqp_table_t) -> AMQPHeaders {
        var out = AMQPHeaders()
        guard t.num_entries > 0, let entries = t.entries else { return out }
        out.reserveCapacity(Int(t.num_entries))
        for i in 0..<Int(t.num_entries) {
            out[string(entries[i].key)] = value(entries[i].value)
        }
        return out
    }

    static func value(_ v: amqp_field_value_t) -> AMQPFieldValue {
        switch v.kind {
        case UInt8(ascii: "t"): .bool(v.value.boolean != 0)
        case UInt8(ascii: "b"): .int(Int64(v.value.i8))
        case UInt8(ascii: "B"): .int(Int64(v.value.u8))
        case UInt8(ascii: "s"): .int(Int64(v.value.i16))
        case UInt8(ascii: "u"): .int(Int64(v.value.u16))
        case UInt8(ascii: "I"): .int(Int64(v.value.i32))
        case UInt8(ascii: "i"): .int(Int64(v.value.u32))
        case UInt8(ascii: "l"): .int(v.value.i64)
        case UInt8(ascii: "L"): .int(Int64(clamping: v.value.u64))
        case UInt8(ascii: "f"): .double(Double(v.value.f32))
        case UInt8(ascii: "d"): .double(v.value.f64)
        case UInt8(ascii: "D"): .decimal(scale: v.value.decimal.decimals, value: v.value.decimal.value)
        case UInt8(ascii: "S"): .string(string(v.value.bytes))
        case UInt8(ascii: "x"): .bytes(array(v.value.bytes))
        case UInt8(ascii: "T"): .timestamp(v.value.u64)
        case UInt8(ascii: "F"): .table(table(v.value.table))
        case UInt8(ascii: "A"):
            .array((0..<Int(max(0, v.value.array.num_entries))).map { value(v.value.array.entries[$0]) })
        default: .void
        }
    }

    static func properties(_ p: amqp_basic_properties_t) -> AMQPProperties {
        var out = AMQPProperties()
        let flags = p._flags
        func has(_ flag: Int32) -> Bool { flags & UInt32(flag) != 0 }
        if has(AMQP_BASIC_CONTENT_TYPE_FLAG) { out.contentType = string(p.content_type) }
        if has(AMQP_BASIC_CONTENT_ENCODING_FLAG) { out.contentEncoding = string(p.content_encoding) }
        if has(AMQP_BASIC_HEADERS_FLAG) { out.headers = headers(p.headers) }
        if has(AMQP_BASIC_DELIVERY_MODE_FLAG) { out.persistent = p.delivery_mode == 2 }
        if has(AMQP_BASIC_PRIORITY_FLAG) { out.priority = p.priority }
        if has(AMQP_BASIC_CORRELATION_ID_FLAG) { out.correlationID = string(p.correlation_id) }
        if has(AMQP_BASIC_REPLY_TO_FLAG) { out.replyTo = string(p.reply_to) }
        if has(AMQP_BASIC_EXPIRATION_FLAG) { out.expiration = string(p.expiration) }
        if has(AMQP_BASIC_MESSAGE_ID_FLAG) { out.messageID = string(p.message_id) }
        if has(AMQP_BASIC_TIMESTAMP_FLAG) { out.timestamp = p.timestamp }
        if has(AMQP_BASIC_TYPE_FLAG) { out.type = string(p.type) }
        if has(AMQP_BASIC_APP_ID_FLAG) { out.appID = string(p.app_id) }
        return out
    }
}

internal import CLibXML2

/// Byte-level helpers for libxml2's NUL-terminated UTF-8 strings (`xmlChar *`).
enum XMLName {
    /// The string's bytes, without the terminating NUL.
    static func bytes(_ string: UnsafePointer<xmlChar>) -> [UInt8] {
        Array(UnsafeBufferPointer(start: string, count: Int(xmlStrlen(string))))
    }

    /// Whether the C string equals `name`, without building a Swift string.
    static func matches(_ string: UnsafePointer<xmlChar>?, _ name: [UInt8]) -> Bool {
        guard let string else { return false }
        for (index, byte) in name.enumerated() where string[index] != byte { return false }
        return string[name.count] == 0
    }
}

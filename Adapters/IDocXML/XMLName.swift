#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CLibXML2

/// Byte-level helpers for libxml2's NUL-terminated UTF-8 strings (`xmlChar *`).
enum XMLName {
    /// The string's bytes, without the terminating NUL.
    static func bytes(_ string: UnsafePointer<xmlChar>) -> [UInt8] {
        Array(UnsafeBufferPointer(start: string, count: Int(xmlStrlen(string))))
    }

    /// Whether the bytes `name` are exactly `expected`.
    static func matches(_ name: UnsafeBufferPointer<UInt8>, _ expected: [UInt8]) -> Bool {
        name.count == expected.count && (name.isEmpty || memcmp(name.baseAddress!, expected, name.count) == 0)
    }

    /// Whether the C string equals `name`, without building a Swift string.
    static func matches(_ string: UnsafePointer<xmlChar>?, _ name: [UInt8]) -> Bool {
        guard let string else { return false }
        for (index, byte) in name.enumerated() where string[index] != byte { return false }
        return string[name.count] == 0
    }
}

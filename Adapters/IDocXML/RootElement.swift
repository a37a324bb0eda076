internal import CLibXML2

/// The file's root element as the reader saw it: its name and its start tag rebuilt with
/// every attribute (namespace declarations included), so each IDoc can be wrapped in it.
struct RootElement {
    let name: String
    let startTag: [UInt8]
    let endTag: [UInt8]

    /// Reads the element the reader stands on; leaves the reader on that element.
    init(reading reader: xmlTextReaderPtr) {
        let qualifiedName = xmlTextReaderConstName(reader).map(XMLName.bytes) ?? []
        name = String(decoding: qualifiedName, as: UTF8.self)
        var tag: [UInt8] = [UInt8(ascii: "<")]
        tag += qualifiedName
        while xmlTextReaderMoveToNextAttribute(reader) == 1 {
            tag.append(UInt8(ascii: " "))
            if let attributeName = xmlTextReaderConstName(reader) {
                tag += XMLName.bytes(attributeName)
            }
            tag += [UInt8(ascii: "="), UInt8(ascii: "\"")]
            if let value = xmlTextReaderConstValue(reader) {
                RootElement.appendEscapedAttribute(XMLName.bytes(value), to: &tag)
            }
            tag.append(UInt8(ascii: "\""))
        }
        xmlTextReaderMoveToElement(reader)
        tag.append(UInt8(ascii: ">"))
        startTag = tag
        endTag = [UInt8(ascii: "<"), UInt8(ascii: "/")] + qualifiedName + [UInt8(ascii: ">")]
    }

    /// Escapes an attribute value for a double-quoted attribute.
    static func appendEscapedAttribute(_ value: [UInt8], to out: inout [UInt8]) {
        for byte in value {
            switch byte {
            case UInt8(ascii: "&"): out += Array("&amp;".utf8)
            case UInt8(ascii: "<"): out += Array("&lt;".utf8)
            case UInt8(ascii: ">"): out += Array("&gt;".utf8)
            case UInt8(ascii: "\""): out += Array("&quot;".utf8)
            case 0x09: out += Array("&#9;".utf8)
            case 0x0A: out += Array("&#10;".utf8)
            case 0x0D: out += Array("&#13;".utf8)
            default: out.append(byte)
            }
        }
    }
}

internal import CLibXML2
import EventModel

/// Reads one IDoc's XML (an event's `data`: the `<IDOC>` element wrapped in its root) into a
/// segment tree for mapping. An element with element children, or with a `SEGMENT` attribute,
/// is a segment; any other element is a field whose text, without surrounding blanks, is its
/// value. A document with a DOCTYPE is refused, as the agent's codec refuses it.
public enum IDocSegmentReader {
    /// The root element's name and the first `IDOC` element as a segment.
    public static func read(_ xml: UnsafeRawBufferPointer) throws(IDocSegmentReadError) -> (root: String, idoc: IDocSegment) {
        guard let base = xml.baseAddress, xml.count > 0, xml.count <= Int(Int32.max) else {
            throw IDocSegmentReadError("the document is empty")
        }
        var handler: xmlStructuredErrorFunc? = { _, _ in }
        var context: UnsafeMutableRawPointer? = nil
        cxml_swap_thread_error_handler(&handler, &context)
        defer { cxml_swap_thread_error_handler(&handler, &context) }
        guard let document = xmlReadMemory(
            base.assumingMemoryBound(to: CChar.self), Int32(xml.count), nil, "UTF-8", options)
        else { throw IDocSegmentReadError("the document is not well-formed XML") }
        defer { xmlFreeDoc(document) }
        guard document.pointee.intSubset == nil else { throw IDocSegmentReadError("the document has a DOCTYPE") }
        guard let root = xmlDocGetRootElement(document) else { throw IDocSegmentReadError("the document has no root element") }
        let rootName = name(of: root)
        var child = root.pointee.children
        while let node = child {
            if node.pointee.type == XML_ELEMENT_NODE, name(of: node) == "IDOC" {
                return (rootName, segment(node, depth: 0))
            }
            child = node.pointee.next
        }
        throw IDocSegmentReadError("the root element <\(rootName)> holds no <IDOC> element")
    }

    private static let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_COMPACT.rawValue)
    /// Deeper elements are read as fields: IDoc segments nest a few levels at most.
    private static let maximumDepth = 64

    private static func name(of node: xmlNodePtr) -> String {
        node.pointee.name.map { String(cString: $0) } ?? ""
    }

    private static func segment(_ element: xmlNodePtr, depth: Int) -> IDocSegment {
        var segment = IDocSegment(name: name(of: element))
        var child = element.pointee.children
        while let node = child {
            child = node.pointee.next
            guard node.pointee.type == XML_ELEMENT_NODE else { continue }
            if depth < maximumDepth, hasElementChild(node) || xmlHasProp(node, "SEGMENT") != nil {
                segment.children.append(self.segment(node, depth: depth + 1))
            } else {
                segment.fields.append((name(of: node), text(of: node)))
            }
        }
        return segment
    }

    private static func hasElementChild(_ node: xmlNodePtr) -> Bool {
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE { return true }
            child = current.pointee.next
        }
        return false
    }

    /// The element's text without surrounding blanks: its single text child read in place,
    /// else all its text.
    private static func text(of element: xmlNodePtr) -> String {
        if let child = element.pointee.children, child.pointee.next == nil, child.pointee.type == XML_TEXT_NODE,
           let content = child.pointee.content
        {
            return trimmed(content)
        }
        guard let content = xmlNodeGetContent(element) else { return "" }
        defer { cxml_free(content) }
        return trimmed(content)
    }

    private static func trimmed(_ text: UnsafePointer<xmlChar>) -> String {
        let bytes = UnsafeBufferPointer(start: text, count: Int(xmlStrlen(text)))
        var start = 0
        var end = bytes.count
        while start < end, isBlank(bytes[start]) { start += 1 }
        while end > start, isBlank(bytes[end - 1]) { end -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
}

/// Why an event's XML could not be read into segments.
public struct IDocSegmentReadError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

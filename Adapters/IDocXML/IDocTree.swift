internal import CLibXML2
import EventModel

/// Read-only questions about one expanded `<IDOC>` subtree.
struct IDocTree {
    let idoc: xmlNodePtr

    /// The fields of the `EDI_DC40` child, or nil when there is none.
    func controlRecord() -> ControlRecord? {
        guard let control = firstElementChild(of: idoc, named: IDocTree.controlRecordName) else { return nil }
        var record = ControlRecord()
        var field = control.pointee.children
        while let node = field {
            if node.pointee.type == XML_ELEMENT_NODE,
               let kept = ControlRecordFields.field(named: node.pointee.name) {
                kept.set(IDocTree.trimmedText(of: node), in: &record)
            }
            field = node.pointee.next
        }
        return record
    }

    /// Whether elements nest more than `limit` levels below the IDoc (its children are
    /// level 1). Stops walking as soon as the limit is passed.
    func nests(deeperThan limit: Int) -> Bool {
        var depth = 1
        var cursor = idoc.pointee.children
        while let node = cursor {
            if node.pointee.type == XML_ELEMENT_NODE {
                if depth > limit { return true }
                if let child = node.pointee.children {
                    depth += 1
                    cursor = child
                    continue
                }
            }
            var current: xmlNodePtr? = node
            while let climbing = current, climbing.pointee.next == nil {
                current = climbing.pointee.parent
                depth -= 1
                if current == idoc { return false }
            }
            cursor = current?.pointee.next
        }
        return false
    }

    private static let controlRecordName = Array("EDI_DC40".utf8)

    private func firstElementChild(of parent: xmlNodePtr, named name: [UInt8]) -> xmlNodePtr? {
        var cursor = parent.pointee.children
        while let node = cursor {
            if node.pointee.type == XML_ELEMENT_NODE, XMLName.matches(node.pointee.name, name) { return node }
            cursor = node.pointee.next
        }
        return nil
    }

    /// The text of a field element without surrounding blanks: its single text child
    /// directly, else all its text.
    private static func trimmedText(of element: xmlNodePtr) -> String {
        if let child = element.pointee.children, child.pointee.next == nil,
           child.pointee.type == XML_TEXT_NODE, let content = child.pointee.content {
            return trimmed(content)
        }
        guard let content = xmlNodeGetContent(element) else { return "" }
        defer { cxml_free(content) }
        return trimmed(content)
    }

    private static func trimmed(_ text: UnsafePointer<xmlChar>) -> String {
        ControlRecordFields.trimmed(UnsafeBufferPointer(start: text, count: Int(xmlStrlen(text))))
    }
}

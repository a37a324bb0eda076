/// Why an input was refused. Thrown by codecs and sources; the input is quarantined with
/// this reason and an `outpost.document.rejected` event is sent to the hub.
public struct DocumentRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable machine-readable code.
    public var code: Code
    /// Human-readable detail (line, element, limit…). Never contains document content
    /// beyond a short excerpt.
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }

    /// Stable rejection codes (they appear in reason files, events and metrics).
    public enum Code: String, Sendable, CaseIterable {
        case dtdForbidden = "dtd_forbidden"
        case malformedXML = "malformed_xml"
        case truncated
        case notXML = "not_xml"
        case unknownFormat = "unknown_format"
        case noControlRecord = "no_control_record"
        case noDocuments = "no_documents"
        case tooDeep = "too_deep"
        case documentTooLarge = "document_too_large"
        case fileTooLarge = "file_too_large"
        case badEncoding = "bad_encoding"
        case malformedFlat = "malformed_flat"
        case symlink
        /// A regular file with more than one name: another name may lie outside the drop directory.
        case hardLink = "hard_link"
        case notRegularFile = "not_regular_file"
        /// The file name is not valid UTF-8, so no event could name it.
        case fileNameNotUTF8 = "file_name_not_utf8"
        case unreadable
    }
}

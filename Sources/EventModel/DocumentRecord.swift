/// One business document found by a codec in an input (one IDoc of a file, say).
///
/// `data` points into the codec's own buffer and is valid only while the codec's `emit`
/// callback runs: copy what you keep.
public struct DocumentRecord {
    /// 0-based position of the document in its input.
    public var ordinal: Int
    /// The IDoc control record, when the format has one.
    public var control: ControlRecord?
    /// The root element the document was wrapped in (the basic or extension type), if any.
    public var rootName: String?
    /// MIME type of `data`, e.g. `application/xml`.
    public var contentType: String
    /// The document's bytes as they go into the event's `data` (UTF-8 text for XML and flat).
    public var data: UnsafeRawBufferPointer
    /// Whether `data` is text (sent as a JSON string) or binary (sent base64 in `data_base64`).
    public var isText: Bool

    public init(
        ordinal: Int, control: ControlRecord?, rootName: String? = nil, contentType: String,
        data: UnsafeRawBufferPointer, isText: Bool = true
    ) {
        self.ordinal = ordinal
        self.control = control
        self.rootName = rootName
        self.contentType = contentType
        self.data = data
        self.isText = isText
    }
}

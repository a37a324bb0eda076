/// How documents of one IDoc type become canonical documents: where each canonical field is
/// read, which segment holds the line items, defaults, extra attributes and the fields that
/// must never reach the canonical model.
public struct MappingProfile: Sendable, Equatable {
    /// The canonical header fields a profile may set.
    public static let headerFields = [
        "number", "po_number", "po_item", "supplier", "net_amount", "gross_amount", "currency", "company_code",
        "purchasing_organisation", "plant", "cost_centre", "document_date",
    ]
    /// The canonical item fields a profile may set.
    public static let itemFields = [
        "number", "material", "quantity", "unit", "net_value", "plant", "cost_centre", "po_number", "po_item",
        "movement_type",
    ]

    public var name: String
    public var kind: CanonicalDocument.Kind
    /// Which documents the profile takes.
    public var selector: ProfileSelector
    /// Each header field's paths, tried in order; the first that has a value wins.
    public var header: [String: [FieldPath]]
    /// The segments that are line items (from the IDoc), if the kind has items.
    public var itemSegment: [FieldPath.Step]?
    public var item: [String: [FieldPath]]
    /// Header values used when the document has none.
    public var defaults: [String: String]
    /// Extra header values by name, kept under `attributes`.
    public var attributes: [String: [FieldPath]]
    /// Segments or fields (`E1LFBKM`, `E1LFA1M/STCD1`) no mapping may read.
    public var protected: [String]
    /// Goods movements: movement types that count as receipts and as their reversals.
    public var receiptMovements: Set<String>
    public var reversalMovements: Set<String>

    public init(name: String, kind: CanonicalDocument.Kind, selector: ProfileSelector) {
        self.name = name
        self.kind = kind
        self.selector = selector
        header = [:]
        item = [:]
        defaults = [:]
        attributes = [:]
        protected = []
        receiptMovements = []
        reversalMovements = []
    }

    /// Whether a path reads a protected segment or field.
    public func isProtected(_ path: FieldPath) -> Bool {
        protected.contains { Self.path(path, isUnder: $0) }
    }

    static func path(_ path: FieldPath, isUnder protected: String) -> Bool {
        let names = path.steps.map(\.segment) + [path.field]
        let guarded = protected.split(separator: "/").map(String.init)
        guard !guarded.isEmpty else { return false }
        // A protected name matches wherever it appears along the path, with what follows it.
        for start in names.indices where names.count - start >= guarded.count {
            if Array(names[start..<(start + guarded.count)]) == guarded { return true }
        }
        return false
    }
}

/// Which documents a profile takes: basic IDoc types and message types, and for an override
/// the region, sender system and extension type it is for.
public struct ProfileSelector: Sendable, Equatable {
    /// Basic types (`IDOCTYP`), e.g. `ORDERS05`.
    public var idocTypes: Set<String>
    /// Message types taken (empty: any not excluded); a namespaced one as `/NS/NAME`.
    public var messageTypes: Set<String> = []
    public var excludedMessageTypes: Set<String> = []
    public var region: String?
    public var sender: String?
    /// `CIMTYP`, or the root element when it is not the basic type (`_-NS_-NAME`).
    public var extensionType: String?

    public init(idocTypes: Set<String>, messageTypes: Set<String> = [], excludedMessageTypes: Set<String> = []) {
        self.idocTypes = idocTypes
        self.messageTypes = messageTypes
        self.excludedMessageTypes = excludedMessageTypes
    }

    func takes(_ facts: DocumentFacts) -> Bool {
        guard idocTypes.contains(facts.idocType) else { return false }
        if !messageTypes.isEmpty, !messageTypes.contains(facts.messageType) { return false }
        if excludedMessageTypes.contains(facts.messageType) { return false }
        if let region, region != facts.region { return false }
        if let sender, sender != facts.sender { return false }
        if let extensionType, extensionType != facts.extensionType { return false }
        return true
    }

    /// How many of region, sender and extension the selector names: the most specific
    /// override that takes a document maps it.
    var specificity: Int {
        [region, sender, extensionType].reduce(0) { $0 + ($1 == nil ? 0 : 1) }
    }
}

/// What selects a profile for one document: from its control record and its event.
public struct DocumentFacts: Sendable, Equatable {
    public var idocType: String
    public var messageType: String
    public var extensionType: String?
    public var sender: String
    public var region: String

    public init(idocType: String, messageType: String, extensionType: String?, sender: String, region: String) {
        self.idocType = idocType
        self.messageType = messageType
        self.extensionType = extensionType
        self.sender = sender
        self.region = region
    }
}

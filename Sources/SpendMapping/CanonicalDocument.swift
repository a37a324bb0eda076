/// What finance reads of one IDoc: the integration layer's canonical model. Amounts and
/// quantities are exact decimal strings; dates are `YYYY-MM-DD`; absent values are omitted.
public struct CanonicalDocument: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case purchaseOrder = "purchase_order"
        case poChange = "po_change"
        case goodsReceipt = "goods_receipt"
        case invoice
        case supplier

        /// The business document a version of this kind belongs to: a PO change is a later
        /// version of its purchase order.
        public var family: Kind { self == .poChange ? .purchaseOrder : self }
    }

    public struct Item: Codable, Sendable, Equatable {
        public var number: String?
        public var material: String?
        public var quantity: String?
        public var unit: String?
        public var netValue: String?
        public var plant: String?
        public var costCentre: String?
        public var poNumber: String?
        public var poItem: String?
        public var movementType: String?

        public init() {}

        enum CodingKeys: String, CodingKey {
            case number, material, quantity, unit, plant
            case netValue = "net_value"
            case costCentre = "cost_centre"
            case poNumber = "po_number"
            case poItem = "po_item"
            case movementType = "movement_type"
        }
    }

    public var kind: Kind
    public var number: String
    public var senderSystem: String
    public var idocNumber: String?
    public var poNumber: String?
    public var poItem: String?
    public var supplier: String?
    public var netAmount: String?
    public var grossAmount: String?
    public var currency: String?
    public var companyCode: String?
    public var purchasingOrganisation: String?
    public var plant: String?
    public var costCentre: String?
    public var documentDate: String?
    public var items: [Item]
    /// Further fields a profile names (`attributes:`), by the profile's names.
    public var attributes: [String: String]?
    public var region: String
    public var agent: String
    public var eventID: String
    /// The profile that mapped the document (a built-in's name or an override's).
    public var profile: String

    public init(kind: Kind, number: String, senderSystem: String, region: String, agent: String, eventID: String, profile: String) {
        self.kind = kind
        self.number = number
        self.senderSystem = senderSystem
        self.items = []
        self.region = region
        self.agent = agent
        self.eventID = eventID
        self.profile = profile
    }

    enum CodingKeys: String, CodingKey {
        case kind, number, supplier, currency, plant, items, attributes, region, agent, profile
        case senderSystem = "sender_system"
        case idocNumber = "idoc_number"
        case poNumber = "po_number"
        case poItem = "po_item"
        case netAmount = "net_amount"
        case grossAmount = "gross_amount"
        case companyCode = "company_code"
        case purchasingOrganisation = "purchasing_organisation"
        case costCentre = "cost_centre"
        case documentDate = "document_date"
        case eventID = "event_id"
    }

    /// The key of the business document this is a version of: purchase orders by number,
    /// invoices by supplier and number, other kinds by sender system and number.
    public var documentKey: String {
        switch kind.family {
        case .purchaseOrder: "purchase_order|\(number)"
        case .invoice: "invoice|\(supplier ?? "")|\(number)"
        case .goodsReceipt: "goods_receipt|\(senderSystem)|\(number)"
        case .supplier: "supplier|\(senderSystem)|\(number)"
        case .poChange: "purchase_order|\(number)"
        }
    }

    /// Every purchase order number the document refers to (its own, for a purchase order).
    public var referencedPurchaseOrders: [String] {
        if kind.family == .purchaseOrder { return [number] }
        var numbers: [String] = []
        for candidate in [poNumber] + items.map(\.poNumber) {
            if let candidate, !candidate.isEmpty, !numbers.contains(candidate) { numbers.append(candidate) }
        }
        return numbers
    }
}

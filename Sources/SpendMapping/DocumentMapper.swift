import EventModel

/// Maps one IDoc to its canonical document with the profile that takes it.
public struct DocumentMapper: Sendable {
    /// Overrides, most specific first, then the built-in profiles.
    public let profiles: [MappingProfile]

    public init(overrides: [ProfileOverride] = []) {
        let resolved = overrides.compactMap { override in
            BuiltInProfiles.named(override.extends).map { override.applied(to: $0) }
        }
        profiles = resolved.enumerated().sorted {
            ($0.element.selector.specificity, -$0.offset) > ($1.element.selector.specificity, -$1.offset)
        }.map(\.element) + BuiltInProfiles.all
    }

    /// What identifies the event at the hub.
    public struct EventFacts: Sendable {
        public var eventID: String
        public var region: String
        public var agent: String

        public init(eventID: String, region: String, agent: String) {
            self.eventID = eventID
            self.region = region
            self.agent = agent
        }
    }

    /// The profile for a document with these facts, or `nil`.
    public func profile(for facts: DocumentFacts) -> MappingProfile? {
        profiles.first { $0.selector.takes(facts) }
    }

    /// Maps `idoc` (the `IDOC` segment; `root` is the name of the element or type around it).
    public func map(_ idoc: IDocSegment, root: String, event: EventFacts) -> MappingOutcome {
        guard let control = idoc.children.first(where: { $0.name == "EDI_DC40" }),
              let idocType = control.field("IDOCTYP"), !idocType.isEmpty
        else { return .unmapped }
        let extensionType = control.field("CIMTYP").flatMap { $0.isEmpty ? nil : $0 } ?? (root != idocType ? root : nil)
        let facts = DocumentFacts(
            idocType: idocType, messageType: control.field("MESTYP") ?? "", extensionType: extensionType,
            sender: control.field("SNDPRN") ?? "", region: event.region)
        guard let profile = profile(for: facts) else { return .unmapped }
        var reader = FieldReader(profile: profile)
        return reader.document(idoc, control: control, facts: facts, event: event)
    }
}

/// Reads one document's fields with one profile, gathering every problem.
struct FieldReader {
    let profile: MappingProfile
    var problems: [MappingProblem] = []

    init(profile: MappingProfile) {
        self.profile = profile
    }

    mutating func document(
        _ idoc: IDocSegment, control: IDocSegment, facts: DocumentFacts, event: DocumentMapper.EventFacts
    ) -> MappingOutcome {
        let number = text("number", in: idoc, paths: profile.header["number"])
        var document = CanonicalDocument(
            kind: profile.kind, number: number ?? "", senderSystem: facts.sender, region: event.region,
            agent: event.agent, eventID: event.eventID, profile: profile.name)
        if number == nil { require("number") }
        document.idocNumber = control.field("DOCNUM")
        document.poNumber = text("po_number", in: idoc, paths: profile.header["po_number"])
        document.poItem = text("po_item", in: idoc, paths: profile.header["po_item"]).map(Self.itemNumber)
        document.supplier = text("supplier", in: idoc, paths: profile.header["supplier"])
        document.netAmount = decimal("net_amount", in: idoc, paths: profile.header["net_amount"])
        document.grossAmount = decimal("gross_amount", in: idoc, paths: profile.header["gross_amount"])
        document.currency = text("currency", in: idoc, paths: profile.header["currency"])
        document.companyCode = text("company_code", in: idoc, paths: profile.header["company_code"])
        document.purchasingOrganisation = text(
            "purchasing_organisation", in: idoc, paths: profile.header["purchasing_organisation"])
        document.plant = text("plant", in: idoc, paths: profile.header["plant"])
        document.costCentre = text("cost_centre", in: idoc, paths: profile.header["cost_centre"])
        document.documentDate = date("document_date", in: idoc, paths: profile.header["document_date"])
        if let itemSegment = profile.itemSegment {
            for (index, segment) in FieldPath.matches(itemSegment, in: idoc).enumerated() {
                if let item = item(segment, index: index) { document.items.append(item) }
            }
        }
        if !profile.attributes.isEmpty {
            var attributes: [String: String] = [:]
            for (name, paths) in profile.attributes {
                if let value = paths.lazy.compactMap({ $0.value(in: idoc) }).first { attributes[name] = value }
            }
            if !attributes.isEmpty { document.attributes = attributes }
        }
        check(&document)
        if !problems.isEmpty { return .failed(profile: profile.name, problems: problems) }
        if profile.kind == .goodsReceipt, document.items.isEmpty {
            // No receipt or reversal among the movements: not a goods receipt.
            return .unmapped
        }
        return .mapped(document)
    }

    private mutating func item(_ segment: IDocSegment, index: Int) -> CanonicalDocument.Item? {
        let at = "items[\(index)]."
        var item = CanonicalDocument.Item()
        item.movementType = text(at + "movement_type", in: segment, paths: profile.item["movement_type"])
        var negate = false
        if profile.kind == .goodsReceipt {
            let movement = item.movementType ?? ""
            if profile.reversalMovements.contains(movement) {
                negate = true
            } else if !profile.receiptMovements.contains(movement) {
                return nil
            }
        }
        item.number = text(at + "number", in: segment, paths: profile.item["number"]).map(Self.itemNumber)
        item.material = text(at + "material", in: segment, paths: profile.item["material"])
        item.quantity = decimal(at + "quantity", in: segment, paths: profile.item["quantity"])
        if negate, let quantity = item.quantity, let value = ExactDecimal(quantity) { item.quantity = (-value).description }
        item.unit = text(at + "unit", in: segment, paths: profile.item["unit"])
        item.netValue = decimal(at + "net_value", in: segment, paths: profile.item["net_value"])
        item.plant = text(at + "plant", in: segment, paths: profile.item["plant"])
        item.costCentre = text(at + "cost_centre", in: segment, paths: profile.item["cost_centre"])
        item.poNumber = text(at + "po_number", in: segment, paths: profile.item["po_number"])
        item.poItem = text(at + "po_item", in: segment, paths: profile.item["po_item"]).map(Self.itemNumber)
        if profile.kind == .goodsReceipt {
            if item.quantity == nil { require(at + "quantity") }
            if item.number == nil { item.number = String(index + 1) }
        }
        return item
    }

    /// Checks across fields: what each kind needs, and amounts only with a known currency.
    private mutating func check(_ document: inout CanonicalDocument) {
        switch document.kind {
        case .purchaseOrder, .invoice:
            if document.supplier == nil { require("supplier") }
        case .poChange, .goodsReceipt, .supplier:
            break
        }
        let hasAmounts = document.netAmount != nil || document.grossAmount != nil
            || document.items.contains { $0.netValue != nil }
        if let currency = document.currency {
            if !CurrencyCode.isKnown(currency) {
                problems.append(MappingProblem(field: "currency", reason: "'\(currency)' is not an ISO 4217 currency code"))
            }
        } else if hasAmounts {
            require("currency", because: "the document has amounts")
        }
    }

    private mutating func require(_ field: String, because: String? = nil) {
        let paths = pathsFor(field).map(\.description)
        var reason = paths.isEmpty ? "missing: the profile reads it nowhere" : "missing: no value at \(paths.joined(separator: ", "))"
        if let because { reason += " (\(because))" }
        problems.append(MappingProblem(field: field, reason: reason))
    }

    private func pathsFor(_ field: String) -> [FieldPath] {
        if let dot = field.firstIndex(of: ".") {
            return profile.item[String(field[field.index(after: dot)...])] ?? []
        }
        return profile.header[field] ?? []
    }

    private func text(_ field: String, in segment: IDocSegment, paths: [FieldPath]?) -> String? {
        for path in paths ?? [] {
            if let value = path.value(in: segment) { return value }
        }
        if !field.utf8.contains(UInt8(ascii: ".")), let value = profile.defaults[field] { return value }
        return nil
    }

    private mutating func decimal(_ field: String, in segment: IDocSegment, paths: [FieldPath]?) -> String? {
        guard let raw = text(field, in: segment, paths: paths) else { return nil }
        guard let value = ExactDecimal(raw) else {
            problems.append(MappingProblem(field: field, reason: "'\(raw)' is not a decimal number"))
            return nil
        }
        return value.description
    }

    private mutating func date(_ field: String, in segment: IDocSegment, paths: [FieldPath]?) -> String? {
        guard let raw = text(field, in: segment, paths: paths), raw != "00000000" else { return nil }
        let digits = Array(raw.utf8)
        guard digits.count == 8, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let year = Int(raw.prefix(4)), let month = Int(raw.dropFirst(4).prefix(2)), let day = Int(raw.suffix(2)),
              (1...12).contains(month), (1...Self.days(in: month, of: year)).contains(day)
        else {
            problems.append(MappingProblem(field: field, reason: "'\(raw)' is not a date (YYYYMMDD)"))
            return nil
        }
        return "\(raw.prefix(4))-\(raw.dropFirst(4).prefix(2))-\(raw.suffix(2))"
    }

    static func days(in month: Int, of year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Item numbers without leading zeros, so `00010` (ORDERS) and `000010` (INVOIC) match.
    static func itemNumber(_ text: String) -> String {
        let trimmed = text.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }
}

import EventModel
import IDocFlat
import IDocXML
import SpendMapping

/// libFuzzer entry: any bytes through the hub's mapping path — read as a flat IDoc when they
/// begin with `EDI_DC40`, else as XML — then mapped by the built-in profiles. A mapped
/// document's amounts must be exact decimals and its currency a known code.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMapping(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let mapper = DocumentMapper()
    let event = DocumentMapper.EventFacts(eventID: "fuzz", region: "r", agent: "a")
    var read: (root: String, idoc: IDocSegment)?
    if bytes.starts(with: Array("EDI_DC40".utf8)) {
        read = FlatSegmentTree.read(Array(bytes), layout: .builtIn).map { ("", $0) }
    } else {
        read = try? IDocSegmentReader.read(bytes)
    }
    guard let (root, idoc) = read else { return 0 }
    if case .mapped(let document) = mapper.map(idoc, root: root, event: event) {
        for amount in [document.netAmount, document.grossAmount] + document.items.flatMap({ [$0.netValue, $0.quantity] }) {
            if let amount { precondition(ExactDecimal(amount)?.description == amount, "amount \(amount) is not canonical") }
        }
        if let currency = document.currency { precondition(CurrencyCode.isKnown(currency), "currency \(currency)") }
        var planner = SpendPlanner(currentLines: [])
        planner.apply(document, position: MappingPosition(epoch: 0, sequence: 1), receivedAt: 0)
        _ = planner.exceptions()
    }
    return 0
}

import FileSourceSupport
import Testing

@Suite struct ClaimNameTests {
    @Test("claim names lead back to their document name and are never documents")
    func roundTrip() {
        for name in ["PO.xml", "1.xml", "-2.xml", ".hidden", "a b.xml"] {
            for attempt in [0, 1, 12] {
                let claim = ClaimName.of(name, attempt: attempt)
                #expect(ClaimName.original(of: claim) == name, "\(claim)")
                #expect(!FileNameFilter(include: ["*"], exclude: [], doneMarker: nil).isDocument(claim), "\(claim)")
            }
        }
        for other in ["PO.xml", ".outpost-claim", ".outpost-claim.", ".outpost-claims.x", ".outpost-claim-.x", ".outpost-claim-3x"] {
            #expect(ClaimName.original(of: other) == nil, "\(other)")
        }
        #expect(FileNameFilter(include: ["*"], exclude: [], doneMarker: nil).isDocument(".outpost-claims.x"))
    }
}

import Testing

@testable import Outbox

@Suite("How a batch's sequence numbers are named in a statement")
struct SequenceRunTests {
    @Test("a run read as one range needs ascending numbers filling at least half of it")
    func covering() {
        #expect(SequenceRun.covering([4, 5, 6, 7]) == 4...7)
        #expect(SequenceRun.covering([9]) == 9...9)
        #expect(SequenceRun.covering([1, 2, 4]) == 1...4, "3 of 4 numbers")
        #expect(SequenceRun.covering([1, 4]) == 1...4, "2 of 4: half")
        #expect(SequenceRun.covering([1, 5]) == nil, "2 of 5")
        #expect(SequenceRun.covering([5, 4, 6]) == nil, "not ascending")
        #expect(SequenceRun.covering([4, 4, 5]) == nil, "a number twice")
        #expect(SequenceRun.covering([]) == nil)
    }

    @Test("an exact run holds every number of its range once, in order")
    func exact() {
        #expect(SequenceRun.exact([10, 11, 12]) == 10...12)
        #expect(SequenceRun.exact([3]) == 3...3)
        #expect(SequenceRun.exact([10, 12]) == nil)
        #expect(SequenceRun.exact([11, 10]) == nil)
        #expect(SequenceRun.exact([10, 10, 11]) == nil, "three numbers, a range of two")
        #expect(SequenceRun.exact([]) == nil)
        #expect(SequenceRun.list([3, 1, 20]) == "3,1,20")
    }

    @Test("members are found by one walk along the numbers, given in any order")
    func members() {
        var sorted = SequenceRun.Members([2, 4, 5, 9])
        let inSorted = (1...10).filter { sorted.contains($0) }
        #expect(inSorted == [2, 4, 5, 9])
        var unsorted = SequenceRun.Members([9, 2, 5, 4, 2])
        let inUnsorted = (1...10).filter { unsorted.contains($0) }
        #expect(inUnsorted == [2, 4, 5, 9])
        var none = SequenceRun.Members([])
        let inNone = none.contains(1)
        #expect(!inNone)
    }
}

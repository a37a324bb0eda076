import Testing

@testable import Forwarder

@Suite("The forwarder's bookkeeping of busy keys")
struct DispatchStateTests {
    @Test("keys are counted in runs of equal neighbours")
    func runs() {
        let runs = DispatchState.runs(of: ["a", "a", "b", "a", "c", "c", "c"])
        #expect(runs.map(\.key) == ["a", "b", "a", "c"])
        #expect(runs.map(\.count) == [2, 1, 1, 3])
        #expect(DispatchState.runs(of: [String]()).isEmpty)
        #expect(DispatchState.runs(of: ["only"]).map(\.count) == [1])
    }

    @Test("a key stays busy until as many of its events were released as were taken")
    func releaseByCount() {
        var state = DispatchState(limit: 4)
        for (key, count) in DispatchState.runs(of: ["a", "a", "a", "b"]) { state.busyKeys[key, default: 0] += count }
        state.releaseKey("a", count: 2)
        #expect(state.busyKeys == ["a": 1, "b": 1])
        state.releaseKey("a")
        state.releaseKey("b", count: 5)
        #expect(state.busyKeys.isEmpty)
        state.releaseKey("never", count: 1)
        #expect(state.busyKeys.isEmpty)
    }
}

@Suite("A pick's answers per key")
struct KeyDecisionsTests {
    @Test("answers are kept for keys listed and for keys beyond the list alike")
    func listedAndBeyond() {
        var decisions = KeyDecisions()
        let keys = (0..<(KeyDecisions.listed + 5)).map { "idoc:SENDER\($0):100" }
        for (i, key) in keys.enumerated() {
            #expect(decisions.answer(for: key) == nil)
            decisions.record(i % 3 == 0, for: key)
        }
        let answers = keys.map { decisions.answer(for: $0) }
        #expect(answers == keys.indices.map { $0 % 3 == 0 })
        #expect(decisions.answer(for: "idoc:OTHER:100") == nil)
    }
}

import Testing

@testable import HTTPSink

/// The order in which batches try a hub's replicas (pure logic, a fake clock).
@Suite struct ReplicaRotationTests {
    final class Clock: @unchecked Sendable {
        var now = 1000.0
    }

    @Test func batchesTakeTurnsAndFailedReplicasGoLastUntilTheirPauseEnds() {
        let clock = Clock()
        let rotation = ReplicaRotation(count: 3, setAside: 2, maximum: 8, now: { clock.now })
        #expect(rotation.order() == [0, 1, 2])
        #expect(rotation.order() == [1, 2, 0])
        #expect(rotation.order() == [2, 0, 1])
        rotation.failed(1)
        #expect(rotation.order() == [0, 2, 1])
        #expect(rotation.order() == [2, 0, 1])
        clock.now += 2.5
        #expect(rotation.order() == [2, 0, 1], "its 2 s pause is over")
        rotation.failed(1)
        rotation.failed(1)  // third failure in a row: 8 s (2, 4, 8, capped at 8)
        clock.now += 5
        #expect(rotation.order().last == 1)
        clock.now += 3.5
        #expect(rotation.order().last != 1)
        rotation.failed(0)
        rotation.succeeded(0)
        #expect(rotation.order().last != 0, "an answer ends the pause")
    }
}

@testable import SFTPSource
import Testing

/// The rules for when an SFTP source lists again (pure logic; the listings themselves are
/// tested against sshd in SFTPSourceTests).
struct ListingScheduleTests {
    let start = ContinuousClock.now

    func file(seenAgo seconds: Double, listings: Int = 1) -> ListingSchedule.SettlingFile {
        .init(changedAt: start - .seconds(seconds), listings: listings)
    }

    @Test("nothing waiting: the next listing is a poll_interval away")
    func nothingWaiting() {
        var schedule = ListingSchedule(pollInterval: 10, settle: 2)
        #expect(schedule.delay(settling: [], now: start) == 10)
    }

    @Test("a file waiting to settle is listed again when settle has passed, not a poll_interval later")
    func settleShorterThanPoll() {
        var schedule = ListingSchedule(pollInterval: 10, settle: 2)
        #expect(schedule.delay(settling: [file(seenAgo: 0)], now: start) == 2)
        #expect(schedule.delay(settling: [file(seenAgo: 1.5)], now: start) == ListingSchedule.minimumPause)
    }

    @Test("settle 0: the second listing a new file needs follows at once, but never twice in a row")
    func immediateSecondListing() {
        var schedule = ListingSchedule(pollInterval: 0.1, settle: 0)
        #expect(schedule.delay(settling: [file(seenAgo: 0)], now: start) == 0)
        // It showed the file changed (listed once again): the pause applies now.
        #expect(schedule.delay(settling: [file(seenAgo: 0)], now: start) == 0.1)
        #expect(schedule.delay(settling: [file(seenAgo: 0)], now: start) == 0)
        #expect(schedule.lastWasImmediate)
        // With a long poll_interval the pause between early listings is the minimum, not 0.
        var slow = ListingSchedule(pollInterval: 60, settle: 0)
        #expect(slow.delay(settling: [file(seenAgo: 0)], now: start) == 0)
        #expect(slow.delay(settling: [file(seenAgo: 0)], now: start) == ListingSchedule.minimumPause)
    }

    @Test("a file listed twice but not handed over (intake paused, or it failed) does not make listings immediate")
    func settledButWaiting() {
        var schedule = ListingSchedule(pollInterval: 5, settle: 0)
        #expect(schedule.delay(settling: [file(seenAgo: 3, listings: 4)], now: start) == ListingSchedule.minimumPause)
        #expect(!schedule.lastWasImmediate)
    }
}

import HubServer
import Testing

@Suite struct IngestActivityTests {
    @Test func aBatchMakesIngestBusyForTheWindowOnly() async throws {
        let activity = IngestActivity.shared
        activity.noteBatch()
        #expect(activity.isBusy(within: .seconds(5)))
        try await Task.sleep(for: .milliseconds(60))
        #expect(!activity.isBusy(within: .milliseconds(20)), "a window shorter than the time since the batch has passed")
    }
}

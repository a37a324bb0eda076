import EventModel
import Foundation
@testable import HTTPSink
import Testing

@Suite("HTTPSink answer mapping")
struct HTTPSinkOutcomeTests {
    private func outcome(_ status: Int, retryAfter: String? = nil, body: String = "") -> DeliveryOutcome {
        HTTPSink.outcome(status: status, retryAfter: retryAfter, body: Array(body.utf8))
    }

    /// An RFC 9110 IMF-fixdate, `seconds` from now.
    private func httpDate(in seconds: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: Date(timeIntervalSinceNow: seconds))
    }

    @Test("200 without rejections is delivered")
    func delivered() {
        #expect(outcome(200, body: #"{"accepted":3,"duplicates":1,"rejected":[]}"#) == .delivered(rejected: [:]))
        #expect(outcome(200) == .delivered(rejected: [:]))
        #expect(outcome(204) == .delivered(rejected: [:]))
        #expect(outcome(200, body: "not json") == .delivered(rejected: [:]))
    }

    @Test("200 with a rejected list names those events and their reasons")
    func deliveredWithRejections() {
        let body = #"{"accepted":1,"duplicates":0,"rejected":[{"id":"e1","reason":"agentid mismatch"},{"id":"e2"},{"reason":"no id"}]}"#
        #expect(outcome(200, body: body) == .delivered(rejected: ["e1": "agentid mismatch", "e2": "rejected by the hub"]))
    }

    @Test("401 and 403 pause delivery with the hub's words", arguments: [401, 403])
    func credentialsPause(status: Int) {
        guard case .pause(let reason) = outcome(status, body: "unknown token") else {
            Issue.record("\(status) must pause")
            return
        }
        #expect(reason.contains("\(status)"))
        #expect(reason.contains("unknown token"))
    }

    @Test("413 asks for a split")
    func tooLarge() {
        #expect(outcome(413, body: "too big") == .tooLarge)
    }

    @Test("408, 425, 500, 502 and 503 retry", arguments: [408, 425, 500, 502, 503])
    func passingFailures(status: Int) {
        guard case .retry(let after, let reason) = outcome(status, body: "busy") else {
            Issue.record("\(status) must retry")
            return
        }
        #expect(after == nil)
        #expect(reason.contains("\(status)"))
        #expect(reason.contains("busy"))
    }

    @Test("429 and 503 honour Retry-After in seconds")
    func retryAfterSeconds() {
        #expect(outcome(429, retryAfter: "7") == .retry(after: 7, reason: "hub answered 429: "))
        #expect(outcome(503, retryAfter: " 30 ", body: "overloaded") == .retry(after: 30, reason: "hub answered 503: overloaded"))
        #expect(outcome(429, retryAfter: "0") == .retry(after: 0, reason: "hub answered 429: "))
    }

    @Test("429 honours Retry-After as an HTTP date")
    func retryAfterDate() throws {
        guard case .retry(let after, _) = outcome(429, retryAfter: httpDate(in: 120)) else {
            Issue.record("429 must retry")
            return
        }
        let seconds = try #require(after)
        #expect(seconds > 115 && seconds <= 120.5, "Retry-After date 120 s ahead parsed as \(seconds) s")
    }

    @Test("Retry-After parsing: past dates wait 0, nonsense is ignored")
    func retryAfterParsing() {
        #expect(HTTPSink.parseRetryAfter(httpDate(in: -3600)) == 0)
        #expect(HTTPSink.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == 0)
        #expect(HTTPSink.parseRetryAfter("soon") == nil)
        #expect(HTTPSink.parseRetryAfter("-5") == nil)
        #expect(HTTPSink.parseRetryAfter("") == nil)
        #expect(HTTPSink.parseRetryAfter("1.5") == 1.5)
        #expect(outcome(503, retryAfter: "soon") == .retry(after: nil, reason: "hub answered 503: "))
    }

    @Test("400 rejects the batch (the forwarder splits it to find the culprit)")
    func badRequest() {
        guard case .reject(let reason) = outcome(400, body: "event 3: missing type") else {
            Issue.record("400 must reject")
            return
        }
        #expect(reason.contains("400"))
        #expect(reason.contains("event 3: missing type"))
    }

    @Test("404 and 405 mean a wrong hub.url: pause, never dead-letter every event", arguments: [404, 405])
    func wrongEndpoint(status: Int) {
        guard case .pause(let reason) = outcome(status, body: "Not Found") else {
            Issue.record("\(status) must pause, got \(outcome(status))")
            return
        }
        #expect(reason.contains("\(status)"))
        #expect(reason.contains("hub.url"))
    }

    @Test("a redirect pauses delivery and points at hub.url", arguments: [301, 302, 307, 308])
    func redirect(status: Int) {
        guard case .pause(let reason) = outcome(status) else {
            Issue.record("\(status) must pause")
            return
        }
        #expect(reason.contains("\(status)"))
        #expect(reason.contains("hub.url"))
    }

    @Test("other 4xx reject", arguments: [409, 422])
    func otherClientErrors(status: Int) {
        guard case .reject = outcome(status) else {
            Issue.record("\(status) must reject")
            return
        }
    }

    @Test("the reason quotes at most 300 bytes of the answer")
    func excerptBounded() {
        guard case .retry(_, let reason) = outcome(500, body: String(repeating: "x", count: 10_000)) else {
            Issue.record("500 must retry")
            return
        }
        #expect(reason.count <= 300 + "hub answered 500: ".count)
    }

    @Test("the URL in descriptions has no credentials and no query")
    func redactedURL() {
        #expect(HTTPSink.redacted("https://agent:s3cret@hub.example.com:8443/v1/events?token=abc") == "https://hub.example.com:8443/v1/events")
        #expect(HTTPSink.redacted("http://127.0.0.1:8080/v1/events") == "http://127.0.0.1:8080/v1/events")
        #expect(!HTTPSink.redacted("https://u:p@h/x?t=1").contains("p@"))
        #expect(HTTPSink.redacted("http://[bad") == "invalid-url")
    }

    @Test("the sink's description shows the redacted URL only")
    func description() async throws {
        let sink = try HTTPSink(url: "https://agent:s3cret@hub.example.com/v1/events?key=k", token: "tok", requestTimeout: 5)
        #expect(sink.description == "http-sink(https://hub.example.com/v1/events)")
        #expect(!sink.description.contains("s3cret"))
        #expect(!sink.description.contains("tok"))
        await sink.shutdown()
    }
}

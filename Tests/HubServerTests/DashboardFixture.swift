import Foundation
import HubServer

/// A hub storage filled with what a dashboard should show: two regions, an agent whose
/// heartbeats stopped, deliveries with known latencies, a duplicate, an id conflict and a
/// rejected file.
enum DashboardFixture {
    static func heartbeat(agent: String, region: String, time: String, depth: Int, oldest: Int?, deadLetters: Int) -> Data {
        let oldestValue = oldest.map(String.init) ?? "null"
        return Data(#"{"specversion":"1.0","id":"heartbeat:\#(agent):\#(time)","source":"outpost://\#(agent)/agent","type":"outpost.agent.heartbeat","subject":"\#(agent)","time":"\#(time)","datacontenttype":"application/json","data":{"version":"0.1.0","reason":"periodic","started_at":"\#(time)","outbox_depth":\#(depth),"outbox_bytes":\#(depth * 2048),"oldest_pending_age_seconds":\#(oldestValue),"dead_letters":\#(deadLetters),"intake_paused":false,"intake_paused_reason":null,"delivery_paused":null,"hub_failure":null,"last_delivery":null,"sources":[{"name":"sap-outbound","last_pickup":"\#(time)"}]},"partitionkey":"heartbeat:\#(agent)","agentid":"\#(agent)","region":"\#(region)"}"#.utf8)
    }

    static func rfc3339(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds.rounded(.down)).formatted(.iso8601)
    }

    /// Fills `storage` as of `now` (seconds since 1970).
    static func fill(_ storage: some HubStorage, now: Double) async throws {
        let emea = HubFixtures.emea, apac = HubFixtures.apac
        // emea: orders picked up 2 s and 4 s before storage, one rejected file, a live heartbeat.
        var events: [IncomingEvent] = []
        for (index, delay) in [2.0, 4.0].enumerated() {
            let time = rfc3339(now - 10 - delay)
            events.append(IncomingEvent(
                id: "idoc:PRD:100:\(index)", type: "sap.idoc.ORDERS", source: "outpost://\(emea.id)/sap-outbound",
                region: emea.region, agentID: emea.id, subject: "\(index)", time: time,
                json: Data(HubFixtures.event(id: "idoc:PRD:100:\(index)").utf8)))
        }
        events.append(IncomingEvent(
            id: "rejected:sap-outbound:abc", type: IncomingEvent.documentRejectedType,
            source: "outpost://\(emea.id)/sap-outbound", region: emea.region, agentID: emea.id, subject: "bad<1>.xml",
            time: rfc3339(now - 11),
            rejectedDocument: RejectedDocument(
                eventID: "rejected:sap-outbound:abc", agentID: emea.id, filename: "bad<1>.xml", reason: "malformed_xml",
                detail: "line 3: opening and ending tag mismatch", time: rfc3339(now - 11)),
            json: Data(HubFixtures.rejectedDocumentEvent(id: "rejected:sap-outbound:abc", filename: "bad.xml", reason: "malformed_xml").utf8)))
        events.append(IncomingEvent(
            id: "heartbeat:\(emea.id):now", type: "outpost.agent.heartbeat", source: "outpost://\(emea.id)/agent",
            region: emea.region, agentID: emea.id, subject: emea.id, time: rfc3339(now - 10),
            json: heartbeat(agent: emea.id, region: emea.region, time: rfc3339(now - 10), depth: 42, oldest: 95, deadLetters: 3)))
        _ = try await storage.store(IngestBatch(
            agentID: emea.id, region: emea.region, receivedAt: Date(timeIntervalSince1970: now - 10), events: events))
        // The same order again: a duplicate.
        _ = try await storage.store(IngestBatch(
            agentID: emea.id, region: emea.region, receivedAt: Date(timeIntervalSince1970: now - 5),
            events: [events[0]]))
        // apac posts its own document under emea's first order id: an id conflict.
        _ = try await storage.store(IngestBatch(
            agentID: apac.id, region: apac.region, receivedAt: Date(timeIntervalSince1970: now - 4),
            events: [IncomingEvent(
                id: "idoc:PRD:100:0", type: "sap.idoc.ORDERS", source: "outpost://\(apac.id)/sap-outbound",
                region: apac.region, agentID: apac.id, subject: "0", time: rfc3339(now - 6),
                json: Data(HubFixtures.event(id: "idoc:PRD:100:0", agent: apac, data: "<squatted/>").utf8))]))
        // apac: last heartbeat 10 minutes ago, so silent.
        let old = now - 600
        _ = try await storage.store(IngestBatch(
            agentID: apac.id, region: apac.region, receivedAt: Date(timeIntervalSince1970: old),
            events: [IncomingEvent(
                id: "heartbeat:\(apac.id):old", type: "outpost.agent.heartbeat", source: "outpost://\(apac.id)/agent",
                region: apac.region, agentID: apac.id, subject: apac.id, time: rfc3339(old),
                json: heartbeat(agent: apac.id, region: apac.region, time: rfc3339(old), depth: 0, oldest: nil, deadLetters: 0))]))
    }
}

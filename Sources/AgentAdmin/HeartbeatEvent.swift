import BuildInfo
import EventModel

/// The `outpost.agent.heartbeat` event: who the agent is and how its pipeline is doing, so
/// the hub knows about agents that are stuck, not only about the ones that deliver.
///
/// Its id is deterministic (`heartbeat:<agent>:<minute>` for the periodic beat,
/// `heartbeat:<agent>:<millisecond>` for the one at start and one caused by a state change),
/// its partition key is `heartbeat:<agent>`; it goes through the outbox like any event. The
/// periodic beats of two processes of one agent fall in different minutes (the first comes a
/// minute after the start). Named by their second, the start beats of an agent killed and
/// started again within that second would share an id with other data, which the outbox
/// keeps as an `id_conflict` dead letter.
public enum HeartbeatEvent {
    public static let type = "outpost.agent.heartbeat"

    /// Why a heartbeat was sent.
    public enum Reason: String, Sendable {
        case started, periodic
        case stateChange = "state_change"
    }

    /// The event's JSON and outbox columns.
    public static func encode(
        agentID: String, region: String, vitals: AgentVitals, reason: Reason, startedAt: Double
    ) -> EncodedEvent {
        let stamp = RFC3339.format(vitals.time)
        let bucket = reason == .periodic ? String(stamp.prefix(16)) + "Z" : RFC3339.format(vitals.time, milliseconds: true)
        let id = "heartbeat:\(agentID):\(bucket)"
        let key = "heartbeat:\(agentID)"

        var data = JSONWriter(capacity: 1024)
        data.raw("{")
        data.member("version", OutpostVersion.current, comma: false)
        data.member("reason", reason.rawValue)
        data.member("started_at", RFC3339.format(startedAt))
        data.number("outbox_depth", vitals.outbox.pendingEvents)
        data.number("outbox_bytes", vitals.outbox.pendingBytes)
        data.raw(",\"oldest_pending_age_seconds\":")
        if let age = vitals.oldestPendingAge { data.raw(Array(String(Int64(age.rounded())).utf8)) } else { data.raw("null") }
        data.number("dead_letters", vitals.outbox.deadLetters)
        data.raw(vitals.intakePaused == nil ? ",\"intake_paused\":false" : ",\"intake_paused\":true")
        data.optional("intake_paused_reason", vitals.intakePaused)
        data.optional("delivery_paused", vitals.deliveryPaused)
        data.optional("hub_failure", vitals.hubFailure)
        data.optional("last_delivery", vitals.outbox.lastDeliveryAt.map { RFC3339.format($0) })
        data.raw(",\"sources\":[")
        for (index, source) in vitals.lastPickups.enumerated() {
            data.raw(index == 0 ? "{" : ",{")
            data.member("name", source.name, comma: false)
            data.optional("last_pickup", source.time.map { RFC3339.format($0) })
            data.raw("}")
        }
        data.raw("]}")

        var event = JSONWriter(capacity: 1536)
        event.raw("{\"specversion\":\"1.0\"")
        event.member("id", id)
        event.member("source", "outpost://\(agentID)/agent")
        event.member("type", type)
        event.member("subject", agentID)
        event.member("time", stamp)
        event.member("datacontenttype", "application/json")
        event.raw(",\"data\":")
        event.raw(data.bytes)
        event.member("partitionkey", key)
        event.member("agentid", agentID)
        event.member("region", region)
        event.raw("}")
        return EncodedEvent(id: id, type: type, subject: agentID, partitionKey: key, json: event.bytes)
    }
}

extension JSONWriter {
    fileprivate mutating func number(_ name: StaticString, _ value: Int64) {
        raw(",\"")
        raw(name)
        raw("\":")
        raw(Array(String(value).utf8))
    }

    fileprivate mutating func optional(_ name: StaticString, _ value: String?) {
        if let value {
            member(name, value)
        } else {
            raw(",\"")
            raw(name)
            raw("\":null")
        }
    }
}

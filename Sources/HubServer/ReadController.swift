import Foundation
import Hummingbird
import ListenerGuard
import OutpostConfig

/// `GET /v1/events`, `GET /v1/events/{id}`, `GET /v1/conflicts` and `GET /v1/stats`.
struct ReadController<Storage: HubStorage>: Sendable {
    let storage: Storage
    /// Configured agents, listed in the statistics even before they send anything.
    let agents: HubAgentDirectory
    /// The listener's connection counters, shown by `GET /v1/stats` under `connections`.
    let listener: ListenerCounters?

    /// How many rejected documents `GET /v1/stats` lists.
    static var recentRejectionsListed: Int { 50 }

    func addRoutes(to group: RouterGroup<HubRequestContext>) {
        group.get("events", use: list)
        group.get("events/:id", use: single)
        group.get("stats", use: statistics)
        group.get("conflicts", use: conflicts)
    }

    /// `GET /v1/conflicts[?after=CURSOR][&limit=N]`: the documents refused because their id was
    /// stored with another document, oldest first.
    @Sendable func conflicts(request: Request, context: HubRequestContext) async throws -> Response {
        let position = try Self.query(from: request.uri.queryParameters, filters: false)
        let page = try await storage.conflicts(after: position.after, limit: position.limit)
        return try Response.json(ConflictList(conflicts: page.conflicts, next: page.next?.rawValue))
    }

    /// The body of `GET /v1/conflicts`.
    struct ConflictList: Encodable {
        var conflicts: [IDConflict]
        var next: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(conflicts, forKey: .conflicts)
            try container.encode(next, forKey: .next)  // null at the end
        }

        enum CodingKeys: String, CodingKey { case conflicts, next }
    }

    @Sendable func list(request: Request, context: HubRequestContext) async throws -> Response {
        let page = try await storage.events(matching: try Self.query(from: request.uri.queryParameters))
        var body = ByteBuffer()
        body.reserveCapacity(page.events.reduce(64) { $0 + $1.count + 1 })
        body.writeString("{\"events\":[")
        for (index, json) in page.events.enumerated() {
            if index > 0 { body.writeString(",") }
            body.writeBytes(json)
        }
        body.writeString("],\"next\":")
        body.writeString(page.next.map { "\"\($0.rawValue)\"" } ?? "null")
        body.writeString("}")
        return Response.json(bytes: body.readableBytesView)
    }

    @Sendable func single(request: Request, context: HubRequestContext) async throws -> Response {
        let encoded = try context.parameters.require("id")
        guard let id = encoded.removingPercentEncoding, !id.isEmpty else {
            throw HubError.badRequest("event id \(encoded) is not a valid percent-encoded path segment")
        }
        guard let json = try await storage.event(id: id) else {
            throw HubError(status: .notFound, message: "no event with id \(id) is stored")
        }
        return Response.json(bytes: json)
    }

    @Sendable func statistics(request: Request, context: HubRequestContext) async throws -> Response {
        var statistics = try await storage.statistics(recentRejections: Self.recentRejectionsListed)
        for agent in agents.agents where statistics.agents[agent.id] == nil {
            statistics.agents[agent.id] = .init(region: agent.region)
        }
        if let canonical = storage as? any CanonicalStorage {
            statistics.mapping = try await canonical.mappingStatistics()
        }
        statistics.connections = listener?.counts
        return try Response.json(statistics)
    }

    /// The query of `GET /v1/events`; unknown or malformed parameters are a 400, not ignored.
    /// With `filters: false` (`GET /v1/conflicts`), only `after` and `limit` are accepted.
    static func query(
        from parameters: some Sequence<(key: Substring, value: Substring)>, filters: Bool = true
    ) throws -> EventQuery {
        var query = EventQuery()
        var problems: [String] = []
        for (name, value) in parameters {
            let text = String(value)
            switch name {
            case "type" where filters: query.type = text
            case "source" where filters: query.source = text
            case "region" where filters: query.region = text
            case "subject" where filters: query.subject = text
            case "after":
                if let cursor = EventCursor(rawValue: text) {
                    query.after = cursor
                } else {
                    problems.append("after=\(text) is not a cursor; pass the \"next\" value of a previous answer")
                }
            case "limit":
                if let limit = Int(text), limit >= 1 {
                    query.limit = min(limit, EventQuery.maximumLimit)
                } else {
                    problems.append("limit=\(text) is not a positive number (1…\(EventQuery.maximumLimit))")
                }
            default:
                problems.append("unknown parameter \(name); use \(filters ? "type, source, region, subject, " : "")after or limit")
            }
        }
        guard problems.isEmpty else { throw HubError.badRequest(problems.joined(separator: "; ")) }
        return query
    }
}

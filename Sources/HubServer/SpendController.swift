import Foundation
import Hummingbird
import SpendMapping

/// The canonical model's read API (docs/MAPPING.md): `GET /v1/spend`, `GET /v1/match/{po}`,
/// `GET /v1/exceptions`, `GET /v1/documents/{kind}/{number}` and `GET /v1/mapping-failures`.
/// Behind the same read token as the events.
struct SpendController: Sendable {
    let storage: any CanonicalStorage
    let tolerancePercent: ExactDecimal

    func addRoutes(to group: RouterGroup<HubRequestContext>) {
        group.get("spend", use: spend)
        group.get("match/:po", use: match)
        group.get("exceptions", use: exceptions)
        group.get("documents/:kind/:number", use: documents)
        group.get("mapping-failures", use: failures)
    }

    @Sendable func spend(request: Request, context: HubRequestContext) async throws -> Response {
        let query: SpendQuery
        do {
            query = try SpendQuery(parameters: request.uri.queryParameters.map { (String($0.key), String($0.value)) })
        } catch {
            throw HubError.badRequest(error.description)
        }
        let totals = try await storage.spend(query)
        return try Response.json(SpendAnswer(groupBy: query.groupBy.map(\.rawValue), totals: totals))
    }

    struct SpendAnswer: Encodable {
        var groupBy: [String]
        var totals: [SpendTotal]
        enum CodingKeys: String, CodingKey { case groupBy = "group_by", totals }
    }

    @Sendable func match(request: Request, context: HubRequestContext) async throws -> Response {
        let number = try Self.segment(context, "po")
        let lines = try await storage.lines(forPurchaseOrder: number)
        guard !lines.isEmpty else { throw HubError(status: .notFound, message: "nothing is known of purchase order \(number)") }
        return try Response.json(PurchaseOrderMatch(poNumber: number, lines: lines, tolerancePercent: tolerancePercent))
    }

    @Sendable func exceptions(request: Request, context: HubRequestContext) async throws -> Response {
        var query = ExceptionQuery()
        for (name, value) in request.uri.queryParameters {
            switch name {
            case "region": query.region = String(value)
            case "kind":
                guard let kind = MatchException.Kind(rawValue: String(value)) else {
                    throw HubError.badRequest("kind=\(value) is not one of \(MatchException.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                query.kind = kind
            case "limit":
                guard let limit = Int(value), limit >= 1 else { throw HubError.badRequest("limit=\(value) is not a positive number") }
                query = ExceptionQuery(region: query.region, kind: query.kind, limit: limit)
            default:
                throw HubError.badRequest("unknown parameter \(name); use region, kind or limit")
            }
        }
        return try Response.json(["exceptions": try await storage.exceptions(query)])
    }

    @Sendable func documents(request: Request, context: HubRequestContext) async throws -> Response {
        let kindText = try Self.segment(context, "kind")
        guard let kind = CanonicalDocument.Kind(rawValue: kindText) else {
            throw HubError(
                status: .notFound,
                message: "\(kindText) is not a document kind (\(CanonicalDocument.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let number = try Self.segment(context, "number")
        let versions = try await storage.trail(kind: kind, number: number)
        guard versions.contains(where: { $0.document.kind.family == kind.family && $0.number == number }) else {
            throw HubError(status: .notFound, message: "no \(kind.rawValue) \(number) has been mapped")
        }
        return try Response.json(["versions": versions])
    }

    @Sendable func failures(request: Request, context: HubRequestContext) async throws -> Response {
        let position = try ReadController<InMemoryHubStorage>.query(from: request.uri.queryParameters, filters: false)
        let failures = try await storage.mappingFailures(after: position.after, limit: position.limit)
        return try Response.json(FailureList(failures: failures, next: failures.count == position.limit ? failures.last?.position : nil))
    }

    struct FailureList: Encodable {
        var failures: [MappingFailure]
        var next: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(failures, forKey: .failures)
            try container.encode(next, forKey: .next)
        }

        enum CodingKeys: String, CodingKey { case failures = "mapping_failures", next }
    }

    private static func segment(_ context: HubRequestContext, _ name: String) throws -> String {
        let encoded = try context.parameters.require(name)
        guard let value = encoded.removingPercentEncoding, !value.isEmpty else {
            throw HubError.badRequest("\(encoded) is not a valid percent-encoded path segment")
        }
        return value
    }
}

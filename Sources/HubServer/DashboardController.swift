import Foundation
import Hummingbird
import OutpostConfig

/// `GET /`: the operators' dashboard (server-rendered HTML, see ``DashboardPage``).
struct DashboardController<Storage: HubStorage>: Sendable {
    let storage: Storage
    let agents: HubAgentDirectory

    func addRoutes(to group: RouterGroup<HubRequestContext>) {
        group.get("/", use: page)
    }

    @Sendable func page(request: Request, context: HubRequestContext) async throws -> Response {
        let now = Date().timeIntervalSince1970
        let model = try await model(now: now)
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(
            status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: DashboardPage.render(model))))
    }

    func model(now: Double) async throws -> DashboardModel {
        var statistics = try await storage.statistics(recentRejections: 50)
        let since = (now / 3600).rounded(.down) * 3600 - Double(DashboardModel.chartHours - 1) * 3600
        let activity = try await storage.recentActivity(since: since)
        var spend: [SpendTotal] = []
        if let canonical = storage as? any CanonicalStorage {
            statistics.mapping = try await canonical.mappingStatistics()
            var query = SpendQuery()
            query.groupBy = [.region]
            spend = try await canonical.spend(query)
        }
        var model = DashboardModel(statistics: statistics, activity: activity, configuredAgents: agents.agents, now: now)
        model.spendByRegion = spend
        return model
    }
}

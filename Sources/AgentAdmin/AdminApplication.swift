import BuildInfo
import Foundation
import Hummingbird
import ListenerGuard
import Logging

/// Builds the agent's admin listener (`admin.listen`; docs/OPERATIONS.md, "Health,
/// readiness and systemd"): `GET /metrics` (Prometheus
/// text), `GET /healthz` (the process answers) and `GET /readyz` (it can commit; the hub
/// answers or the degradation is named), both JSON. Bind it to loopback: it has no auth.
/// A slow or silent client cannot hold it: ``ListenerLimits/admin`` applies (10 s for the
/// headers, 60 s idle, 16 KiB of headers, 64 connections).
public func buildAdminApplication(
    host: String, port: Int, exporter: AgentMetricsExporter, health: AgentHealth, logger: Logger,
    limits: ListenerLimits = .admin
) -> some ApplicationProtocol {
    Application(
        router: buildAdminRouter(exporter: exporter, health: health),
        server: .http1(configuration: limits.http1Configuration(connections: OpenConnections(limit: limits.maxConnections), logger: logger)),
        configuration: .init(address: .hostname(host, port: port), serverName: "outpost-admin"),
        logger: logger)
}

func buildAdminRouter(exporter: AgentMetricsExporter, health: AgentHealth) -> Router<BasicRequestContext> {
    let router = Router()
    let startedAt = Date().timeIntervalSince1970
    router.get("metrics") { _, _ -> Response in
        let text = await exporter.render()
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: text)))
    }
    router.get("healthz") { _, _ -> Response in
        let body = HealthBody(
            status: "ok", version: OutpostVersion.current,
            uptimeSeconds: Int(Date().timeIntervalSince1970 - startedAt))
        return try jsonResponse(body, status: .ok)
    }
    router.get("readyz") { _, _ -> Response in
        let readiness = health.readiness(now: Date().timeIntervalSince1970)
        return try jsonResponse(readiness, status: readiness.status == .notReady ? .serviceUnavailable : .ok)
    }
    return router
}

/// The JSON body of `/healthz`.
struct HealthBody: Codable {
    var status: String
    var version: String
    var uptimeSeconds: Int

    enum CodingKeys: String, CodingKey {
        case status, version
        case uptimeSeconds = "uptime_seconds"
    }
}

private func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(value)
    return Response(
        status: status, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

import AsyncHTTPClient
import CloudEventWire
import EventModel
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1

/// Posts event batches to the hub's `POST /v1/events` as
/// `application/cloudevents-batch+json`, over one keep-alive connection pool; or, in the
/// `structured` and `binary` modes (``HTTPSinkMode``), each event in a request of its own to any
/// CloudEvents HTTP receiver, in order, under the same rules.
///
/// Maps the hub's answers onto ``DeliveryOutcome``: 2xx delivered (with the events the hub
/// names as rejected), 401/403, 404/405 and 3xx pause, 413 too large, 408/425/429/5xx and network
/// errors retry (honouring `Retry-After`), other 4xx reject. One event per request: a rejected
/// event is dead-lettered and the next one sent; a retry or pause sends the batch's events again
/// from its first (receivers deduplicate by `source` and `id`).
///
/// Given several URLs (replicas of one hub on one database), batches take turns among them, so
/// the forwarder's concurrent lanes spread over the replicas; a replica that does not answer or
/// answers 5xx is set aside for a while (``ReplicaRotation``) and the batch goes to the next one
/// at once. Sending a batch again elsewhere is safe: event ids are stored once.
///
/// Through an HTTP proxy when ``HTTPSinkProxy`` says so (per URL: `NO_PROXY` may exempt some);
/// a proxy that refuses the credentials (407) pauses delivery, keeping every event.
///
/// Given a ``ContentCodec`` the body goes compressed (`Content-Encoding: gzip` or `zstd`); a hub
/// that does not accept the encoding answers 415, which pauses delivery (a setting to change).
public final class HTTPSink: EventSink {
    public let description: String
    /// Sized as a batch body; a structured or binary request carries one event of it.
    public var batchBodySize: BatchBodySize { CloudEventBatch.size }
    private let urls: [String]
    private let authorization: String?
    private let timeout: TimeAmount
    /// One client per distinct proxy choice; `clientOf[replica]` indexes it.
    private let clients: [HTTPClient]
    private let clientOf: [Int]
    private let proxies: [HTTPSinkProxy.Server?]
    private let metricsFactory: any MetricsFactory
    private let rotation: ReplicaRotation
    private let compression: (any ContentCodec)?
    private let mode: HTTPSinkMode
    /// Request buffers of answered batches, written over by the next batches' bodies.
    let spareBodies = SpareBodies()

    /// - Parameters:
    ///   - urls: the hub's events endpoint, e.g. `http://127.0.0.1:8080/v1/events`, or one per replica.
    ///   - token: the agent's bearer token (never logged).
    ///   - requestTimeout: seconds one request may take.
    ///   - tls: TLS settings for `https://` hubs.
    ///   - mode: a batch per request (the Outpost hub), or one event per request in the CloudEvents
    ///     HTTP binding's structured or binary content mode.
    ///   - compression: the codec bodies are compressed with, or nil to send them as they are.
    ///   - proxy: the proxy setting (`hub.proxy`; the agent passes `.environment` unless configured); none by default.
    ///   - environment: where `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` are read.
    ///   - metricsFactory: where `outpost_hub_responses_total{code}` is counted.
    /// - Throws: ``HTTPSinkProxyError`` for a proxy URL that is not `http://host[:port]`.
    public init(
        urls: [String], token: String?, requestTimeout: Double, tls: HTTPSinkTLS = .init(), maxConnections: Int = 8,
        mode: HTTPSinkMode = .batch, compression: (any ContentCodec)? = nil, proxy: HTTPSinkProxy = .init(setting: .direct),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) throws {
        precondition(!urls.isEmpty, "an HTTP sink needs at least one URL")
        self.compression = compression
        self.mode = mode
        self.urls = urls
        self.rotation = ReplicaRotation(count: urls.count)
        self.metricsFactory = metricsFactory
        self.authorization = token.map { "Bearer " + $0 }
        self.timeout = .milliseconds(Int64(requestTimeout * 1000))
        let proxies = try urls.map { try proxy.server(for: $0, environment: environment) }
        self.proxies = proxies
        let via = Set(proxies.compactMap { $0?.description }).sorted()
        self.description = "http-sink(\(urls.map(HTTPSink.redacted).joined(separator: ", "))"
            + (mode == .batch ? "" : ", \(mode.rawValue) mode")
            + (via.isEmpty ? "" : " via proxy \(via.joined(separator: ", "))") + ")"
        var config = HTTPClient.Configuration()
        config.timeout = .init(connect: .seconds(10), read: .milliseconds(Int64(requestTimeout * 1000)))
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnections)
        // Fail an attempt as soon as the hub refuses the connection: the forwarder retries with
        // its own backoff. The client's own retrying would hold every attempt for the whole
        // connect timeout while the hub is down, delaying both recovery and shutdown.
        config.connectionPool.retryConnectionEstablishment = false
        config.httpVersion = .http1Only
        config.redirectConfiguration = .disallow
        config.decompression = .disabled
        config.tlsConfiguration = try tls.makeConfiguration()
        var distinct: [HTTPSinkProxy.Server?] = []
        var clients: [HTTPClient] = []
        clientOf = proxies.map { server in
            if let index = distinct.firstIndex(of: server) { return index }
            var own = config
            own.proxy = server?.configuration
            distinct.append(server)
            clients.append(HTTPClient(eventLoopGroupProvider: .singleton, configuration: own))
            return clients.count - 1
        }
        self.clients = clients
    }

    /// One hub at `url`.
    public convenience init(
        url: String, token: String?, requestTimeout: Double, tls: HTTPSinkTLS = .init(), maxConnections: Int = 8,
        mode: HTTPSinkMode = .batch, compression: (any ContentCodec)? = nil, proxy: HTTPSinkProxy = .init(setting: .direct),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) throws {
        try self.init(
            urls: [url], token: token, requestTimeout: requestTimeout, tls: tls, maxConnections: maxConnections,
            mode: mode, compression: compression, proxy: proxy, environment: environment, metricsFactory: metricsFactory)
    }

    public func deliver(_ batch: [OutboundEvent]) async -> DeliveryOutcome {
        switch mode {
        case .batch:
            return await send(headers: CloudEventHTTPBinding.batchHeaders, keepingBody: compression == nil) {
                () throws(ContentCodecError) in try batchBody(batch)
            }
        case .structured, .binary:
            return await deliverEach(batch)
        }
    }

    /// Each event in a request of its own, in order.
    private func deliverEach(_ batch: [OutboundEvent]) async -> DeliveryOutcome {
        var rejected: [String: String] = [:]
        for event in batch {
            let message: CloudEventHTTPBinding.Message
            do {
                message = mode == .binary ? try CloudEventHTTPBinding.binary(event) : CloudEventHTTPBinding.structured(event)
            } catch {
                rejected[event.id] = "cannot be sent in \(mode.rawValue) mode: \(error)"
                continue
            }
            switch await send(headers: message.headers, body: { () throws(ContentCodecError) in try encoded(message.body) }) {
            case .delivered:
                continue
            case .reject(let reason):
                rejected[event.id] = reason
            case .tooLarge:
                rejected[event.id] = "the receiver refused the event as too large (413)"
            case let outcome:
                return outcome
            }
        }
        return .delivered(rejected: rejected)
    }

    /// A batch's body as the request buffer. Uncompressed, it is written in place (no copy of
    /// the body in between), over the buffer of a batch already answered when there is one
    /// (``SpareBodies``); compressed, the plain body is gone before the request goes out.
    /// Either way one body per batch is held while the hub answers, beside the batch's events.
    private func batchBody(_ batch: [OutboundEvent]) throws(ContentCodecError) -> ByteBuffer {
        guard compression == nil else { return try encoded(CloudEventBatch.body(batch)) }
        let size = CloudEventBatch.bodySize(batch)
        var body = spareBodies.take(capacity: size)
        body.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { CloudEventBatch.write(batch, into: $0) }
        return body
    }

    public func releaseMemory() {
        spareBodies.release()
    }

    /// `bytes` compressed when asked, as a request buffer.
    private func encoded(_ bytes: [UInt8]) throws(ContentCodecError) -> ByteBuffer {
        ByteBuffer(bytes: try compression?.compress(bytes) ?? bytes)
    }

    /// One request, to the replicas in turn, with the body `makeBody` builds (and compresses,
    /// when asked: a body that cannot be compressed is retried later). With `keepingBody`, the
    /// body's buffer goes to ``spareBodies`` once the request is over.
    private func send(
        headers: [(name: String, value: String)], keepingBody: Bool = false,
        body makeBody: () throws(ContentCodecError) -> ByteBuffer
    ) async -> DeliveryOutcome {
        let body: ByteBuffer
        do {
            body = try makeBody()
        } catch {
            return .retry(after: nil, reason: "could not compress the request body: \(error)")
        }
        defer { if keepingBody { spareBodies.give(body) } }
        var outcome = DeliveryOutcome.retry(after: nil, reason: "no hub URL")
        for replica in rotation.order() {
            let (status, result) = await post(body, headers: headers, to: replica)
            outcome = result
            // Another replica may take what this one could not (no answer, 5xx); anything else
            // (stored, throttled, refused) is the hub's word, the same at every replica.
            guard urls.count > 1, status.map({ (500..<600).contains($0) }) ?? true else {
                rotation.succeeded(replica)
                return result
            }
            rotation.failed(replica)
        }
        return outcome
    }

    /// Posts `body` to the replica: the hub's status (`nil` without an answer) and the outcome.
    private func post(_ body: ByteBuffer, headers: [(name: String, value: String)], to replica: Int) async -> (status: Int?, DeliveryOutcome) {
        let url = urls[replica]
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        request.headers.add(name: "Accept", value: "application/json")
        if let compression { request.headers.add(name: "Content-Encoding", value: compression.name) }
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.body = .bytes(body)
        do {
            let response = try await clients[clientOf[replica]].execute(request, timeout: timeout)
            let answer = try await response.body.collect(upTo: 4 << 20)
            countResponse(String(response.status.code))
            if response.status.code == 407, let proxy = proxies[replica] {
                return (407, .pause(reason: Self.proxyRefused(proxy)))
            }
            return (Int(response.status.code), HTTPSink.outcome(
                status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"),
                body: Array(answer.readableBytesView)))
        } catch let error as HTTPClientError where error == .proxyAuthenticationRequired {
            countResponse("407")
            return (407, .pause(reason: Self.proxyRefused(proxies[replica])))
        } catch let error as HTTPClientError where error == .invalidProxyResponse {
            // CONNECT answered neither 200 nor 407 (tinyproxy answers wrong credentials 401; a
            // proxy that cannot reach the hub 502): retried, every event kept.
            countResponse("error")
            let proxy = proxies[replica].map { "proxy \($0)" } ?? "the proxy"
            return (nil, .retry(after: nil, reason: "\(proxy) refused to open a tunnel to \(HTTPSink.redacted(url)): check "
                + "hub.proxy_credentials_file, that the proxy allows CONNECT to the hub's port, and that it reaches the hub"))
        } catch {
            countResponse("error")
            let where_ = urls.count > 1 ? " at \(HTTPSink.redacted(url))" : ""
            return (nil, .retry(after: nil, reason: "hub unreachable\(where_): \(error)"))
        }
    }

    /// `outpost_hub_responses_total{code}`: the HTTP status, or `error` when no answer came.
    private func countResponse(_ code: String) {
        Counter(label: "outpost_hub_responses_total", dimensions: [("code", code)], factory: metricsFactory).increment()
    }

    public func shutdown() async {
        for client in clients { try? await client.shutdown() }
    }

    private static func proxyRefused(_ proxy: HTTPSinkProxy.Server?) -> String {
        let which = proxy.map { "proxy \($0)" } ?? "the proxy"
        return "\(which) answered 407: it refuses "
            + (proxy?.credentials == nil ? "to forward without credentials: set hub.proxy_credentials_file" : "these credentials: check hub.proxy_credentials_file")
    }

    /// The outcome for a hub answer (pure, so it can be tested without a server).
    public static func outcome(status: Int, retryAfter: String?, body: [UInt8]) -> DeliveryOutcome {
        let excerpt = String(decoding: body.prefix(300), as: UTF8.self)
        switch status {
        case 200..<300:
            return .delivered(rejected: rejectedEvents(in: body))
        case 401, 403:
            return .pause(reason: "hub answered \(status): \(excerpt)")
        case 413:
            return .tooLarge
        case 415:
            // The body's encoding or type is the sink's setting, not the events' fault.
            return .pause(reason: "hub answered 415 (unsupported media type or encoding): check hub.compression and hub.mode: \(excerpt)")
        case 408, 425, 429, 500..<600:
            return .retry(after: retryAfter.flatMap(parseRetryAfter), reason: "hub answered \(status): \(excerpt)")
        case 300..<400:
            return .pause(reason: "hub answered \(status) (redirect): check hub.url")
        case 404, 405:
            // The endpoint is wrong, not the events: rejecting would dead-letter the whole outbox.
            return .pause(reason: "hub answered \(status) (no events endpoint there): check hub.url")
        default:
            return .reject(reason: "hub answered \(status): \(excerpt)")
        }
    }

    /// `{"rejected":[{"id":…,"reason":…}]}` → id → reason.
    static func rejectedEvents(in body: [UInt8]) -> [String: String] {
        guard !body.isEmpty,
              let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let list = object["rejected"] as? [[String: Any]]
        else { return [:] }
        var out: [String: String] = [:]
        for entry in list {
            if let id = entry["id"] as? String { out[id] = (entry["reason"] as? String) ?? "rejected by the hub" }
        }
        return out
    }

    /// `Retry-After` as delta-seconds or an HTTP date; seconds from now.
    static func parseRetryAfter(_ value: String) -> Double? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return max(0, date.timeIntervalSinceNow)
    }

    /// The URL without credentials or query, for logs.
    static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url) else { return "invalid-url" }
        parts.user = nil
        parts.password = nil
        parts.query = nil
        return parts.string ?? "invalid-url"
    }
}

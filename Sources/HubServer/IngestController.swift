import EventModel
import Foundation
import Hummingbird
import Logging
import NIOFoundationCompat
import OutpostConfig

/// `POST /v1/events`: authenticates the agent, sheds load, decodes and checks the batch,
/// stores the valid events and answers what happened to each.
struct IngestController<Storage: HubStorage>: Sendable {
    let storage: Storage
    let authenticator: BearerAuthenticator
    let admission: BatchAdmission
    let quotas: AgentQuotas
    let maxBatchBytes: Int
    /// The `Content-Encoding`s accepted besides identity (gzip, zstd); `max_batch_bytes` bounds
    /// the decompressed body.
    let contentCodecs: [any ContentCodec]
    let decoder = CloudEventBatchDecoder()
    let logger: Logger

    static var acceptedContentTypes: [String] { ["application/cloudevents-batch+json", "application/json"] }

    func addRoutes(to group: RouterGroup<HubRequestContext>) {
        group.post("events", use: ingest)
    }

    @Sendable func ingest(request: Request, context: HubRequestContext) async throws -> Response {
        IngestActivity.shared.noteBatch()
        guard let agent = authenticator.agent(authorization: request.headers[.authorization]) else {
            logger.warning("ingest.unauthorized")
            throw HubError.missingToken
        }
        if let expected = agent.clientCertSubject {
            let presented = await context.clientCertificateSubject()
            guard presented == expected else {
                logger.warning("ingest.certificate_mismatch", metadata: [
                    "hub.agent": "\(agent.id)", "hub.certificate_subject": "\(presented ?? "none")",
                ])
                throw HubError(
                    status: .forbidden,
                    message: "agent \"\(agent.id)\" must connect with its client certificate (subject \(expected)); this "
                        + "connection presented \(presented.map { "subject \($0)" } ?? "none"); nothing of this batch was stored")
            }
        }
        let admitted = try await quotas.admit(agent.id) { () async throws -> (IngestResponse?, events: Int) in
            let answer = try await admission.admit {
                try await ingest(request, from: agent)
            }
            return (answer, answer.map { $0.accepted + $0.duplicates + $0.rejected.count } ?? 0)
        }
        switch admitted {
        case .failure(let refusal):
            logger.notice("ingest.agent_throttled", metadata: ["hub.agent": "\(agent.id)", "hub.retry_after": "\(refusal.retryAfterSeconds)"])
            throw HubError(status: .tooManyRequests, message: refusal.reason, retryAfterSeconds: refusal.retryAfterSeconds)
        case .success(nil):
            logger.notice("ingest.shed", metadata: ["hub.agent": "\(agent.id)"])
            throw HubError.overloaded("the hub is processing \(admission.limit) batches already; retry after the Retry-After delay")
        case .success(let answer?):
            return try Response.json(answer)
        }
    }

    private func ingest(_ request: Request, from agent: HubAgent) async throws -> IngestResponse {
        try checkContentType(request.headers[.contentType])
        let codec = try contentCodec(request.headers[.contentEncoding])
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maxBatchBytes {
            throw tooLarge()
        }
        var body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBatchBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw tooLarge()
        }
        if let codec { body = try decompress(body, with: codec, from: agent) }
        let receivedAt = Date()
        // Each event's JSON is a view into the body's storage, not a copy of it.
        let bodyData = body.getData(at: body.readerIndex, length: body.readableBytes, byteTransferStrategy: .noCopy) ?? Data()
        let (events, rejected) = try body.withUnsafeReadableBytes { bytes in
            try decodeBatch(bytes, body: bodyData, from: agent)
        }
        let outcome: StoreOutcome
        do {
            outcome = try await storage.store(IngestBatch(agentID: agent.id, region: agent.region, receivedAt: receivedAt, events: events))
        } catch let error as HubStorageError {
            logger.error("ingest.store_failed", metadata: ["hub.agent": "\(agent.id)", "hub.error": "\(error)"])
            throw HubError.overloaded("could not store the batch now (\(error)); retry later", retryAfterSeconds: error == .busy ? 1 : 5)
        }
        if !outcome.conflicts.isEmpty {
            logger.warning("ingest.id_conflicts", metadata: [
                "hub.agent": "\(agent.id)", "hub.conflicts": "\(outcome.conflicts.count)",
                "hub.event.id": "\(outcome.conflicts[0].id)", "hub.stored_agent": "\(outcome.conflicts[0].storedAgentID)",
            ])
        }
        logger.debug("ingest.stored", metadata: [
            "hub.agent": "\(agent.id)", "hub.accepted": "\(outcome.accepted)",
            "hub.duplicates": "\(outcome.duplicates)", "hub.rejected": "\(rejected.count)",
        ])
        if !rejected.isEmpty {
            logger.notice("ingest.events_rejected", metadata: [
                "hub.agent": "\(agent.id)", "hub.rejected": "\(rejected.count)",
                "hub.reason": "\(rejected[0].reason)",
            ])
        }
        return IngestResponse(
            accepted: outcome.accepted, duplicates: outcome.duplicates,
            rejected: rejected + outcome.conflicts.map { .init(id: $0.id, reason: $0.reason) })
    }

    private func tooLarge() -> HubError {
        HubError(
            status: .contentTooLarge,
            message: "batch is larger than max_batch_bytes (\(maxBatchBytes) bytes); send smaller batches or raise max_batch_bytes")
    }

    /// The codec for `Content-Encoding` (nil for none or identity); 415 for one not accepted.
    private func contentCodec(_ header: String?) throws -> (any ContentCodec)? {
        guard let header else { return nil }
        let codings = header.split(separator: ",").map { $0.trimmingSpaces.lowercased() }.filter { $0 != "identity" && !$0.isEmpty }
        guard !codings.isEmpty else { return nil }
        let accepted = (["identity"] + contentCodecs.map(\.name)).joined(separator: ", ")
        guard codings.count == 1, let codec = contentCodecs.first(where: { $0.name == codings[0] }) else {
            throw HubError(
                status: .unsupportedMediaType,
                message: "content encoding \(header) is not accepted; send one of: \(accepted)")
        }
        return codec
    }

    /// The body decompressed, never more than `max_batch_bytes` of it: 413 beyond, 400 when it is not valid.
    private func decompress(_ body: ByteBuffer, with codec: any ContentCodec, from agent: HubAgent) throws -> ByteBuffer {
        do {
            let plain = try body.withUnsafeReadableBytes { try codec.decompress($0, limit: maxBatchBytes) }
            return ByteBuffer(bytes: plain)
        } catch ContentCodecError.tooLarge(_) {
            logger.notice("ingest.decompressed_too_large", metadata: ["hub.agent": "\(agent.id)", "hub.encoding": "\(codec.name)"])
            throw HubError(
                status: .contentTooLarge,
                message: "the \(codec.name) body decompresses to more than max_batch_bytes (\(maxBatchBytes) bytes); "
                    + "send smaller batches or raise max_batch_bytes")
        } catch {
            logger.notice("ingest.undecodable", metadata: ["hub.agent": "\(agent.id)", "hub.encoding": "\(codec.name)"])
            var reason = "\(error)"
            if case ContentCodecError.corrupt(let detail) = error { reason = detail }
            throw HubError.badRequest("body is not valid \(codec.name): \(reason)")
        }
    }

    private func checkContentType(_ header: String?) throws {
        guard let header else { return }
        let mediaType = header.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces.lowercased() } ?? ""
        guard Self.acceptedContentTypes.contains(mediaType) else {
            throw HubError(
                status: .unsupportedMediaType,
                message: "content type \(header) is not accepted; send \(Self.acceptedContentTypes.joined(separator: " or "))")
        }
    }

    /// Decodes the body and sorts its events into those to store and those rejected.
    /// - Throws: 400 when the body is not a batch, 403 when an event claims another agent or region.
    private func decodeBatch(
        _ bytes: UnsafeRawBufferPointer, body: Data, from agent: HubAgent
    ) throws -> ([IncomingEvent], [IngestResponse.RejectedEvent]) {
        let decoded: [DecodedCloudEvent]
        do {
            decoded = try decoder.decode(bytes)
        } catch {
            logger.notice("ingest.unparsable", metadata: ["hub.agent": "\(agent.id)", "hub.error": "\(error)"])
            throw HubError.badRequest("body is not a CloudEvents JSON batch: \(error)")
        }
        for event in decoded where event.agentid != agent.id || event.region != agent.region {
            logger.warning("ingest.forbidden", metadata: ["hub.agent": "\(agent.id)"])
            throw HubError(
                status: .forbidden,
                message: "event \(event.index) (id \(event.id ?? "missing")) has agentid \(Self.quoted(event.agentid)) "
                    + "and region \(Self.quoted(event.region)), but the token belongs to agent \"\(agent.id)\" "
                    + "in region \"\(agent.region)\"; nothing of this batch was stored")
        }
        var accepted: [IncomingEvent] = []
        accepted.reserveCapacity(decoded.count)
        var rejected: [IngestResponse.RejectedEvent] = []
        for event in decoded {
            if let problem = event.validationProblem {
                rejected.append(.init(id: event.id, reason: problem))
            } else {
                accepted.append(Self.incoming(event, json: body[event.byteRange], dataDigest: DataDigest(of: event.data, in: bytes)))
            }
        }
        return (accepted, rejected)
    }

    private static func incoming(_ event: DecodedCloudEvent, json: Data, dataDigest: DataDigest) -> IncomingEvent {
        // validationProblem == nil guarantees id, source and type; agentid and region were checked.
        let id = event.id ?? "", type = event.type ?? "", agentID = event.agentid ?? ""
        let rejectedDocument = type == IncomingEvent.documentRejectedType
            ? RejectedDocument(
                eventID: id, agentID: agentID, filename: event.dataFilename ?? event.subject,
                reason: event.dataReason, detail: event.dataDetail, time: event.time)
            : nil
        return IncomingEvent(
            id: id, type: type, source: event.source ?? "", region: event.region ?? "", agentID: agentID,
            subject: event.subject, time: event.time, rejectedDocument: rejectedDocument, dataDigest: dataDigest, json: json)
    }

    private static func quoted(_ value: String?) -> String {
        value.map { "\"\($0)\"" } ?? "(missing)"
    }
}

import CloudEventWire
import ContentCoding
import EventModel
import Foundation
import HTTPSink
import HubServer
import Hummingbird
import HummingbirdTesting
import Logging
import OutpostConfig
import Testing
import TestSupport

/// Compressed request bodies between the real HTTP sink and a real hub on a loopback socket:
/// each `hub.compression` setting stores the same events; a decompression bomb is refused with
/// 413 while the hub's memory stays bounded; a corrupt body gets 400 and an unknown encoding 415.
@Suite("Hub compression", .serialized)
struct HubCompressionTests {
    static let token = HubReplicaTests.token
    static let maxBatchBytes = 16 << 20

    static func application(_ storage: some HubStorage) throws -> some ApplicationProtocol {
        var configuration = HubConfiguration(storage: .sqlite(path: "unused"), agents: [HubReplicaTests.agent])
        configuration.listenPort = 0
        configuration.readAccess = .open
        configuration.maxBatchBytes = maxBatchBytes
        return try buildHubApplication(
            configuration: configuration, storage: storage, logger: HubReplicaTests.logger, contentCodecs: ContentCodecs.all)
    }

    static func headers(encoding: String) -> HTTPFields {
        [
            .authorization: "Bearer \(token)", .contentType: "application/cloudevents-batch+json",
            .contentEncoding: encoding,
        ]
    }

    @Test("the sink with gzip, zstd and no compression: the hub stores the same events each time", arguments: ["gzip", "zstd", "none"])
    func eachSetting(_ setting: String) async throws {
        let storage = InMemoryHubStorage()
        try await Self.application(storage).test(.live) { client in
            let sink = try HTTPSink(
                url: "http://127.0.0.1:\(client.port ?? 0)/v1/events", token: Self.token, requestTimeout: 10,
                compression: ContentCodecs.named(setting))
            let events = (0..<50).map { HubReplicaTests.event("\(setting):\($0)") }
            let outcome = await sink.deliver(events)
            await sink.shutdown()
            #expect(outcome == .delivered(rejected: [:]))
            #expect(await storage.statistics(recentRejections: 0).events == 50)
            for event in events {
                let stored = await storage.event(id: event.id)
                #expect(stored != nil, "\(event.id) missing")
            }
        }
    }

    @Test("a gzip bomb (1 GiB of zeros) gets 413 and the hub's resident memory stays bounded")
    func gzipBomb() async throws {
        let file = NSTemporaryDirectory() + "/bomb-\(UUID().uuidString).gz"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let made = try await Subprocess.run("/bin/sh", ["-c", "head -c 1073741824 /dev/zero | gzip -c > \(file)"], timeout: 120)
        #expect(made.status == 0, "\(made)")
        let bomb = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(bomb.count < 2 << 20, "the bomb is \(bomb.count) bytes on the wire")
        let storage = InMemoryHubStorage()
        try await Self.application(storage).test(.live) { client in
            let before = try Self.resetPeakResidentBytes()
            let response = try await client.execute(
                uri: "/v1/events", method: .post, headers: Self.headers(encoding: "gzip"), body: ByteBuffer(bytes: Array(bomb)))
            let peak = try Self.peakResidentBytes()
            #expect(response.status == .contentTooLarge)
            #expect(String(buffer: response.body).contains("max_batch_bytes"))
            // Decompressing it whole would take 1 GiB; the bound is max_batch_bytes plus buffers.
            #expect(peak - before < 128 << 20, "peak resident memory grew by \((peak - before) >> 20) MiB")
        }
        #expect(await storage.statistics(recentRejections: 0).events == 0)
    }

    @Test("a zstd body that expands past max_batch_bytes gets 413")
    func zstdBomb() async throws {
        let bomb = try ZstdCodec().compress([UInt8](repeating: 0x20, count: 64 << 20))
        let storage = InMemoryHubStorage()
        try await Self.application(storage).test(.live) { client in
            let response = try await client.execute(
                uri: "/v1/events", method: .post, headers: Self.headers(encoding: "zstd"), body: ByteBuffer(bytes: bomb))
            #expect(response.status == .contentTooLarge)
        }
    }

    @Test("a corrupt or truncated gzip body gets 400, an unknown encoding 415, and nothing is stored")
    func corruptAndUnknown() async throws {
        let batch = CloudEventBatch.body([HubReplicaTests.event("c:1")])
        let gzip = try GzipCodec().compress(batch)
        let flipped = gzip.enumerated().map { $0.offset == gzip.count / 2 ? $0.element ^ 0xFF : $0.element }
        let storage = InMemoryHubStorage()
        try await Self.application(storage).test(.live) { client in
            for (name, body) in [("flipped", flipped), ("truncated", Array(gzip.prefix(gzip.count - 6))), ("plain", batch)] {
                let response = try await client.execute(
                    uri: "/v1/events", method: .post, headers: Self.headers(encoding: "gzip"), body: ByteBuffer(bytes: body))
                #expect(response.status == .badRequest, "\(name): \(response.status)")
                #expect(String(buffer: response.body).contains("gzip"), "\(name)")
            }
            let unknown = try await client.execute(
                uri: "/v1/events", method: .post, headers: Self.headers(encoding: "br"), body: ByteBuffer(bytes: batch))
            #expect(unknown.status == .unsupportedMediaType)
            #expect(String(buffer: unknown.body).contains("gzip"))
            // The sink's view of 415: pause (a setting to change), never dead-letter the events.
            let sink = try HTTPSink(
                url: "http://127.0.0.1:\(client.port ?? 0)/v1/events", token: Self.token, requestTimeout: 10,
                compression: UnknownCodec())
            let outcome = await sink.deliver([HubReplicaTests.event("c:2")])
            await sink.shutdown()
            guard case .pause(let reason) = outcome else {
                Issue.record("415 should pause delivery, got \(outcome)")
                return
            }
            #expect(reason.contains("415"))
        }
        #expect(await storage.statistics(recentRejections: 0).events == 0)
    }

    /// A codec the hub does not know (it sends the body as it is).
    struct UnknownCodec: ContentCodec {
        let name = "br"
        func compress(_ bytes: [UInt8]) throws(ContentCodecError) -> [UInt8] { bytes }
        func decompress(_ bytes: UnsafeRawBufferPointer, limit: Int) throws(ContentCodecError) -> [UInt8] { Array(bytes) }
    }

    /// Resets this process's peak resident set (VmHWM) to its current size and returns it.
    static func resetPeakResidentBytes() throws -> Int {
        try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        return try peakResidentBytes()
    }

    /// VmHWM of this process, in bytes.
    static func peakResidentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        else { throw CocoaError(.fileReadCorruptFile) }
        return kib << 10
    }
}

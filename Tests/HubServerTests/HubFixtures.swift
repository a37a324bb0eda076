import Foundation
import HubServer
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import OutpostConfig
import TestSupport

/// Agents, tokens and event JSON shared by the hub tests.
enum HubFixtures {
    static let emeaToken = "emea-agent-secret"
    static let apacToken = "apac-agent-secret"
    static let readToken = "dashboard-secret"

    static let emea = HubAgent(id: "plant-emea-01", region: "emea", tokenSHA256: TokenDigest(of: emeaToken).hex)
    static let apac = HubAgent(id: "plant-apac-01", region: "apac", tokenSHA256: TokenDigest(of: apacToken).hex)
    static let silent = HubAgent(id: "plant-amer-09", region: "amer", tokenSHA256: TokenDigest(of: "never-used").hex)

    static func configuration(
        maxBatchBytes: Int = 1 << 20, maxConcurrentBatches: Int = 4, readToken: String? = nil
    ) -> HubConfiguration {
        var configuration = HubConfiguration(storage: .sqlite(path: "unused"), agents: [emea, apac, silent])
        configuration.listenPort = 0
        configuration.maxBatchBytes = maxBatchBytes
        configuration.maxConcurrentBatches = maxConcurrentBatches
        configuration.readTokenSHA256 = readToken.map { TokenDigest(of: $0).hex }
        // Most tests read what they posted without a token; the read-access tests set their own.
        configuration.readAccess = readToken == nil ? .open : .token
        return configuration
    }

    /// One event as an agent sends it.
    static func event(
        id: String, agent: HubAgent = emea, type: String = "sap.idoc.ORDERS", subject: String = "0001",
        specversion: String = "1.0", data: String = "<ORDERS05><IDOC BEGIN=\\\"1\\\"/></ORDERS05>"
    ) -> String {
        #"{"specversion":"\#(specversion)","id":"\#(id)","source":"outpost://\#(agent.id)/sap-outbound","type":"\#(type)","subject":"\#(subject)","time":"2026-11-26T10:15:00Z","datacontenttype":"application/xml","data":"\#(data)","agentid":"\#(agent.id)","region":"\#(agent.region)"}"#
    }

    static func rejectedDocumentEvent(id: String, filename: String, reason: String) -> String {
        #"{"specversion":"1.0","id":"\#(id)","source":"outpost://plant-emea-01/sap-outbound","type":"outpost.document.rejected","subject":"\#(filename)","time":"2026-11-26T10:16:00Z","datacontenttype":"application/json","data":{"reason":"\#(reason)","detail":"line 1: not XML","filename":"\#(filename)","size":12},"agentid":"plant-emea-01","region":"emea"}"#
    }

    static func batch(_ events: [String]) -> ByteBuffer {
        ByteBuffer(string: "[" + events.joined(separator: ",") + "]")
    }

    static func headers(token: String?, contentType: String = "application/cloudevents-batch+json") -> HTTPFields {
        var headers: HTTPFields = [.contentType: contentType]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return headers
    }

    static let logger: Logger = {
        var logger = Logger(label: "hub-test")
        logger.logLevel = .critical
        return logger
    }()
}

/// The storages every HTTP test runs against: the same semantics, checked on each.
enum StorageKind: String, CaseIterable, CustomStringConvertible {
    case inMemory
    case sqlite
    case postgres

    /// PostgreSQL where it can run (always under CI, where a server that cannot start fails).
    static var allCases: [StorageKind] {
        TestPostgres.shouldRun ? [.inMemory, .sqlite, .postgres] : [.inMemory, .sqlite]
    }

    var description: String { rawValue }

    /// Runs `body` with a fresh storage of this kind (a SQLite file in a temporary directory).
    func withStorage<T>(_ body: (any HubStorage) async throws -> T) async throws -> T {
        switch self {
        case .inMemory:
            return try await body(InMemoryHubStorage())
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            return try await body(try SQLiteHubStorage(path: directory.appendingPathComponent("hub.sqlite").path))
        case .postgres:
            let url = try await TestPostgres.shared().createDatabase()
            return try await withPostgresStorage(url: url, body)
        }
    }
}

/// Runs `body` with a PostgreSQL storage on `url`, prepared (migrated), its pool running.
func withPostgresStorage<T>(
    url: String, configure: (inout PostgresStorage) -> Void = { _ in }, _ body: (PostgresHubStorage) async throws -> T
) async throws -> T {
    var settings = PostgresStorage(url: url)
    configure(&settings)
    let storage = try PostgresHubStorage(settings: settings, logger: HubFixtures.logger)
    let pool = Task { await storage.run() }
    defer { pool.cancel() }
    try await storage.prepare()
    return try await body(storage)
}

/// Builds the hub on `storage` and runs `body` against it through HummingbirdTesting.
func withHub<Value>(
    _ storage: some HubStorage, configuration: HubConfiguration = HubFixtures.configuration(),
    setup: TestingSetup = .router, _ body: @Sendable (any TestClientProtocol) async throws -> Value
) async throws -> Value {
    let application = try buildHubApplication(configuration: configuration, storage: storage, logger: HubFixtures.logger)
    return try await application.test(setup, body)
}

extension TestResponse {
    /// The body parsed as a JSON object.
    var json: [String: Any] {
        get throws {
            let data = Data(buffer: body)
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "not a JSON object: \(String(buffer: body))")
        }
    }

    var text: String { String(buffer: body) }
}

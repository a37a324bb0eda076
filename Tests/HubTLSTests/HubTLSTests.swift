import EventModel
import Foundation
import HTTPSink
import HubServer
import HummingbirdTesting
import Logging
import OutpostConfig
import Testing
import TestSupport

/// The real HTTP sink delivering to the real hub over HTTPS: custom CA, mutual TLS, and the
/// failures that must leave the batch for a retry rather than lose it.
@Suite("Hub TLS", .serialized, .enabled(if: IntegrationGate.runs(FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")), "needs /usr/bin/openssl (apt-get install -y openssl)"))
struct HubTLSTests {
    static let token = "emea-agent-secret"
    static let agent = HubAgent(id: "plant-emea-01", region: "emea", tokenSHA256: TokenDigest(of: token).hex)

    @Test("a custom CA bundle: delivered over https")
    func customCA() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let outcome = try await deliver(
            hubTLS: HubTLSConfiguration(certFile: pki.serverCertFile, keyFile: pki.serverKeyFile),
            agentTLS: HTTPSinkTLS(caFile: pki.caFile), expectStored: true)
        #expect(outcome == .delivered(rejected: [:]))
    }

    @Test("mutual TLS: a client certificate from the trusted CA is accepted (key file named .key, not .pem)")
    func mutualTLS() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let outcome = try await deliver(
            hubTLS: HubTLSConfiguration(certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, clientCAFile: pki.caFile),
            agentTLS: HTTPSinkTLS(caFile: pki.caFile, clientCertFile: pki.clientCertFile, clientKeyFile: pki.clientKeyFile),
            expectStored: true)
        #expect(outcome == .delivered(rejected: [:]))
    }

    @Test("mutual TLS: no client certificate is refused, the batch stays for a retry")
    func mutualTLSWithoutClientCertificate() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let outcome = try await deliver(
            hubTLS: HubTLSConfiguration(certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, clientCAFile: pki.caFile),
            agentTLS: HTTPSinkTLS(caFile: pki.caFile), expectStored: false)
        #expect(outcome.isRetry, "got \(outcome)")
    }

    @Test("mutual TLS bound to the agent: its own certificate is accepted, another agent's (same CA) refuses its token")
    func certificateBoundToAgent() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        var bound = Self.agent
        bound.clientCertSubject = "CN=plant-emea-01"
        let hubTLS = HubTLSConfiguration(certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, clientCAFile: pki.caFile)
        let own = try await deliver(
            hubTLS: hubTLS,
            agentTLS: HTTPSinkTLS(caFile: pki.caFile, clientCertFile: pki.clientCertFile, clientKeyFile: pki.clientKeyFile),
            expectStored: true, agent: bound)
        #expect(own == .delivered(rejected: [:]))
        let stolen = try await deliver(
            hubTLS: hubTLS,
            agentTLS: HTTPSinkTLS(caFile: pki.caFile, clientCertFile: pki.otherClientCertFile, clientKeyFile: pki.otherClientKeyFile),
            expectStored: false, agent: bound)
        guard case .pause(let reason) = stolen else {
            Issue.record("expected a pause (403), got \(stolen)")
            return
        }
        #expect(reason.contains("403") && reason.contains("CN=plant-apac-01"), "\(reason)")
    }

    @Test("a hub certificate from an untrusted CA is refused, the batch stays for a retry")
    func wrongCA() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let outcome = try await deliver(
            hubTLS: HubTLSConfiguration(certFile: pki.serverCertFile, keyFile: pki.serverKeyFile),
            agentTLS: HTTPSinkTLS(caFile: pki.otherCAFile), expectStored: false)
        #expect(outcome.isRetry, "got \(outcome)")
    }

    @Test("an unreadable certificate file is a clear configuration error")
    func missingCertificate() throws {
        let tls = HubTLSConfiguration(certFile: "/nonexistent/hub.crt", keyFile: "/nonexistent/hub.key")
        #expect {
            _ = try tls.serverConfiguration()
        } throws: { error in
            "\(error)".contains("tls.cert_file") && "\(error)".contains("/nonexistent/hub.crt")
        }
    }

    /// Runs a TLS hub on a free loopback port, sends one event through a real `HTTPSink`, and
    /// checks whether the hub stored it.
    private func deliver(
        hubTLS: HubTLSConfiguration, agentTLS: HTTPSinkTLS, expectStored: Bool, agent: HubAgent = HubTLSTests.agent
    ) async throws -> DeliveryOutcome {
        var configuration = HubConfiguration(storage: .sqlite(path: "unused"), agents: [agent])
        configuration.listenPort = 0
        configuration.tls = hubTLS
        let storage = InMemoryHubStorage()
        var logger = Logger(label: "hub-tls-test")
        logger.logLevel = .critical
        let application = try buildHubApplication(configuration: configuration, storage: storage, logger: logger)
        let id = "idoc:PRDCLNT100:100:\(UUID().uuidString.prefix(8))"
        return try await application.test(.ahc(.https)) { client in
            let port = try #require(client.port)
            let sink = try HTTPSink(
                url: "https://127.0.0.1:\(port)/v1/events", token: Self.token, requestTimeout: 5, tls: agentTLS)
            let outcome = await sink.deliver([Self.event(id: id)])
            await sink.shutdown()
            let stored = await storage.event(id: id) != nil
            #expect(stored == expectStored)
            return outcome
        }
    }

    private static func event(id: String) -> OutboundEvent {
        let json = #"{"specversion":"1.0","id":"\#(id)","source":"outpost://plant-emea-01/sap-outbound","type":"sap.idoc.ORDERS","subject":"0001","time":"2026-11-26T10:15:00Z","datacontenttype":"application/xml","data":"<ORDERS05/>","partitionkey":"idoc:PRDCLNT100:100","agentid":"plant-emea-01","region":"emea"}"#
        return OutboundEvent(sequence: 1, id: id, partitionKey: "idoc:PRDCLNT100:100", json: Array(json.utf8))
    }
}

extension DeliveryOutcome {
    var isRetry: Bool {
        if case .retry = self { return true }
        return false
    }
}

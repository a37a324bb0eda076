import Foundation
import Testing

@testable import OutpostConfig

/// Configuration texts and helpers shared by the tests.
enum Fixtures {
    /// The smallest valid agent file: everything else takes its default.
    static let minimalAgent = """
        agent:
          id: plant-emea-01
          region: emea
          data_dir: /var/lib/outpost
        sources:
          - name: sap-outbound
            type: file_drop
            path: /srv/erp/outbound
            archive_dir: /srv/erp/archive
            error_dir: /srv/erp/error
        hub:
          url: https://hub.example.com/v1/events
          token_file: /etc/outpost/hub.token
        """

    /// The agent configuration of the original external contract, verbatim: it must keep loading.
    static let specAgent = """
        agent:
          id: plant-emea-01            # unique per host; appears in every event
          region: emea
          data_dir: /var/lib/outpost   # outbox database and state
        sources:
          - name: sap-outbound         # unique; appears in event `source`
            type: file_drop            # file_drop | sftp | amqp
            path: /srv/erp/outbound
            include: ["*.xml"]
            exclude: ["*.tmp", "*.part", ".*"]
            format: auto               # auto (detect) | idoc-xml | idoc-flat | raw
            settle: 2s                 # unchanged size+mtime for this long before pickup
            done_marker: null          # e.g. ".done": pick up X only when X.done exists
            after: archive             # archive | delete
            archive_dir: /srv/erp/archive
            error_dir: /srv/erp/error
            max_file_size: 256MiB
          - name: partner-sftp
            type: sftp
            host: sftp.example.net
            port: 22
            user: erp
            private_key_file: /etc/outpost/id_ed25519
            known_hosts_file: /etc/outpost/known_hosts   # strict by default
            remote_dir: /outbound
            poll_interval: 10s
            format: idoc-xml
            after: move                # move | delete
            remote_archive_dir: /outbound/archive
          - name: erp-queue
            type: amqp
            url: amqp://127.0.0.1:5672/%2f
            credentials_file: /etc/outpost/amqp.cred   # one line: user:password
            queue: erp.outbound
            prefetch: 100
            format: auto
            reject_exchange: erp.rejected
        hub:
          type: http                   # http (default) | amqp (then: url amqp://…, credentials_file,
                                       #   exchange, routing_key: "{type}.{region}")
          url: https://hub.example.com/v1/events
          token_file: /etc/outpost/hub.token
          batch_max_events: 500
          batch_max_bytes: 4MiB
          max_concurrency: 8
          retry_initial: 500ms
          retry_max: 5m
        outbox:
          high_watermark: 1GiB
          low_watermark: 768MiB
          min_free_disk: 2GiB
          retain_delivered: 24h
        admin:
          listen: 127.0.0.1:9464       # /metrics, /healthz, /readyz
        """

    /// A valid hub file with two agents.
    static let hub = """
        listen: 0.0.0.0:8443
        storage:
          postgres: "postgres://outpost@db.example.com/hub"
        max_batch_bytes: 8MiB
        max_concurrent_batches: 4
        read_token_sha256: \(String(repeating: "ab", count: 32))
        agents:
          - id: plant-emea-01
            region: emea
            token_sha256: \(String(repeating: "0", count: 64))
          - id: plant-apac-01
            region: apac
            token_sha256: \(String(repeating: "1", count: 64))
        """

    /// `minimalAgent` with the `hub:` section replaced.
    static func agent(hub: String) -> String {
        let head = minimalAgent.components(separatedBy: "hub:\n")[0]
        return head + "hub:\n" + hub
    }

    /// The problems loading `yaml` reports; records an issue when it loads without any.
    static func agentProblems(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigProblem] {
        do {
            _ = try ConfigLoader.loadAgent(yaml: yaml, fileName: "test.yaml")
            Issue.record("expected problems, but the configuration loaded", sourceLocation: sourceLocation)
            return []
        } catch {
            #expect(error.file == "test.yaml", sourceLocation: sourceLocation)
            return error.problems
        }
    }

    /// The problems loading the hub file `yaml` reports; records an issue when it loads without any.
    static func hubProblems(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigProblem] {
        do {
            _ = try ConfigLoader.loadHub(yaml: yaml, fileName: "hub.yaml")
            Issue.record("expected problems, but the configuration loaded", sourceLocation: sourceLocation)
            return []
        } catch {
            return error.problems
        }
    }

    /// The package root, found by walking up from this file to Package.swift.
    static func packageRoot(from file: String = #filePath) throws -> URL {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory
            }
            directory = directory.deletingLastPathComponent()
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Package.swift above \(file)"])
    }
}

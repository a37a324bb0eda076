import Foundation
import NIOSSL
import OutpostConfig
import PostgresNIO

/// Where and how to connect, read from `storage.postgres` and its keys: the URL's user,
/// password (or `password_file`), host, port and database, TLS (`sslmode`), pool size and
/// statement timeout.
struct PostgresTarget {
    let clientConfiguration: PostgresClient.Configuration

    init(settings: PostgresStorage) throws {
        guard let components = URLComponents(string: settings.url), let host = components.host, !host.isEmpty else {
            throw PostgresStorageError("storage.postgres: '\(Self.redacted(settings.url))' is not a postgres://user@host[:port]/database URL")
        }
        guard let user = components.user.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw PostgresStorageError("storage.postgres: the URL names no user; write postgres://USER@\(host)/DATABASE")
        }
        var password = components.password.flatMap { $0.removingPercentEncoding }
        if let file = settings.passwordFile {
            password = try SecretFile.read(file, key: "storage.password_file")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        var mode = settings.sslMode
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let parsed = PostgresStorage.SSLMode(rawValue: value) else {
                    throw PostgresStorageError(
                        "storage.postgres: sslmode=\(item.value ?? "") is not supported; use disable, prefer, require or verify-full")
                }
                if mode == nil { mode = parsed }
            default:
                throw PostgresStorageError("storage.postgres: URL parameter \(item.name) is not supported; only sslmode is")
            }
        }
        let tls: PostgresClient.Configuration.TLS
        switch mode ?? .prefer {
        case .disable:
            tls = .disable
        case .prefer, .require:
            // As libpq: encrypted, the server's certificate not checked (use verify-full for that).
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            configuration.certificateVerification = .none
            tls = mode == .require ? .require(configuration) : .prefer(configuration)
        case .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            if let caFile = settings.caFile { configuration.trustRoots = .file(caFile) }
            tls = .require(configuration)
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: password,
            database: database.isEmpty ? nil : database, tls: tls)
        configuration.options.maximumConnections = settings.poolSize
        configuration.options.minimumConnections = 0
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", String(Int((settings.statementTimeout * 1000).rounded()))),
            ("application_name", "outpost-hub"),
        ]
        clientConfiguration = configuration
    }

    /// The URL with any password replaced, for messages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "(unparsable URL)"
    }
}

import Foundation

/// Where and as whom to connect: an `amqp://` or `amqps://` URL plus credentials.
///
/// `amqp://[user[:password]@]host[:port][/vhost]`; the port defaults to 5672 (5671 for
/// `amqps`), the virtual host to `/` (written `%2f` in a URL). Credentials given separately
/// (a credentials file) win over those in the URL; without either, RabbitMQ's `guest`
/// (which the broker accepts only over loopback) is used.
public struct AMQPEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var virtualHost: String
    public var user: String
    public var password: String
    public var useTLS: Bool
    /// CA bundle that verifies the broker's certificate (`amqps`); nil = the system bundle.
    public var caFile: String?
    /// Heartbeat interval proposed to the broker, seconds (0 = the broker's choice).
    public var heartbeat: Int = 30
    /// Seconds to wait for the TCP (and TLS) connection and for each synchronous broker reply.
    public var timeout: Double = 15
    /// Shown by the broker (`rabbitmqctl list_connections client_properties`).
    public var connectionName: String = "outpost"

    /// - Throws: ``AMQPError`` `.invalidConfiguration` naming what is wrong with `url`.
    public init(url: String, credentials: AMQPCredentials? = nil) throws {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
              scheme == "amqp" || scheme == "amqps"
        else {
            throw AMQPError(.invalidConfiguration, "'\(Self.redacted(url))' is not an amqp:// or amqps:// URL")
        }
        guard let host = parts.host, !host.isEmpty else {
            throw AMQPError(.invalidConfiguration, "'\(Self.redacted(url))' names no host")
        }
        useTLS = scheme == "amqps"
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        port = parts.port ?? (useTLS ? 5671 : 5672)
        let path = parts.percentEncodedPath
        if path.isEmpty || path == "/" {
            virtualHost = "/"
        } else {
            virtualHost = String(path.dropFirst()).removingPercentEncoding ?? String(path.dropFirst())
        }
        user = credentials?.user ?? parts.user ?? "guest"
        password = credentials?.password ?? parts.password ?? "guest"
    }

    /// `amqp://host:port/vhost`, without credentials: safe for logs.
    public var description: String {
        let vhost = virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? virtualHost
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(useTLS ? "amqps" : "amqp")://\(shownHost):\(port)/\(vhost)"
    }

    /// A URL with any password removed, for error messages.
    static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url) else { return "(unparsable URL)" }
        if parts.password != nil { parts.password = "***" }
        return parts.string ?? "(unparsable URL)"
    }
}

/// A broker user and password, from a credentials file (`credentials_file:`).
public struct AMQPCredentials: Sendable, Equatable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// Reads a file holding one line `user:password` (surrounding white space ignored).
    ///
    /// - Throws: ``AMQPError`` `.invalidConfiguration` naming the file and the fix.
    public static func read(file path: String) throws -> AMQPCredentials {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw AMQPError(.invalidConfiguration, "cannot read the credentials file \(path): \(error.localizedDescription)")
        }
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let colon = line.firstIndex(of: ":"), colon != line.startIndex, !line.contains("\n") else {
            throw AMQPError(
                .invalidConfiguration, "the credentials file \(path) must hold one line `user:password`")
        }
        return AMQPCredentials(user: String(line[..<colon]), password: String(line[line.index(after: colon)...]))
    }
}

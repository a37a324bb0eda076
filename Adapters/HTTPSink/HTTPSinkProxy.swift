import AsyncHTTPClient
import Foundation

/// The HTTP proxy the sink reaches its hub through: the one in the configuration
/// (`hub.proxy`), none, or the environment's `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (each also
/// lowercase; lowercase wins, as in curl). `https://` hubs are reached with `CONNECT` through the
/// proxy (TLS stays end to end); `http://` hubs with absolute-URI requests.
///
/// Only `http://` proxies are supported. Credentials (`user:password`, sent as Basic) come from
/// `hub.proxy_credentials_file`, else from the proxy URL's userinfo.
public struct HTTPSinkProxy: Sendable, Equatable {
    public enum Setting: Sendable, Equatable {
        /// `HTTPS_PROXY`/`HTTP_PROXY` by the hub URL's scheme, minus the hosts in `NO_PROXY`.
        case environment
        /// Direct connections whatever the environment says (`hub.proxy: none`).
        case direct
        /// This proxy for every hub URL (`hub.proxy: http://host:port`), whatever the environment says.
        case url(String)
    }

    public var setting: Setting
    /// `user:password` for the proxy.
    public var credentials: String?

    public init(setting: Setting = .environment, credentials: String? = nil) {
        self.setting = setting
        self.credentials = credentials
    }

    /// A proxy chosen for one hub URL.
    struct Server: Hashable, Sendable, CustomStringConvertible {
        var host: String
        var port: Int
        var credentials: String?

        var description: String { "\(host):\(port)" }

        var configuration: HTTPClient.Configuration.Proxy {
            .server(host: host, port: port, authorization: credentials.map { .basic(credentials: Data($0.utf8).base64EncodedString()) })
        }
    }

    /// The proxy for `url` (nil: connect directly).
    /// - Throws: ``HTTPSinkProxyError`` when the proxy URL is not `http://host[:port]`.
    func server(for url: String, environment: [String: String]) throws -> Server? {
        switch setting {
        case .direct:
            return nil
        case .url(let proxy):
            return try Self.parse(proxy, named: "hub.proxy", credentials: credentials)
        case .environment:
            guard let target = URLComponents(string: url), let host = target.host else { return nil }
            let scheme = target.scheme?.lowercased() ?? "https"
            let names = scheme == "https" ? ["https_proxy", "HTTPS_PROXY"] : ["http_proxy", "HTTP_PROXY"]
            guard let name = names.first(where: { !(environment[$0] ?? "").isEmpty }), let value = environment[name] else { return nil }
            let noProxy = environment["no_proxy"] ?? environment["NO_PROXY"] ?? ""
            if Self.bypasses(host: host, noProxy: noProxy) { return nil }
            return try Self.parse(value, named: name, credentials: credentials)
        }
    }

    /// Whether `NO_PROXY` (comma-separated: `*`, host names, `.domain` or `domain` suffixes, IP
    /// addresses; an optional `:port` is ignored) lists `host`.
    static func bypasses(host: String, noProxy: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        for rawEntry in noProxy.split(separator: ",") {
            var entry = rawEntry.trimmingCharacters(in: .whitespaces).lowercased()
            if entry == "*" { return true }
            if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
                entry = String(entry[entry.index(after: entry.startIndex)..<close])
            } else if entry.filter({ $0 == ":" }).count == 1, let colon = entry.firstIndex(of: ":") {
                entry = String(entry[..<colon])
            }
            if entry.hasPrefix("*.") { entry.removeFirst() }
            if entry.hasPrefix(".") { entry.removeFirst() }
            guard !entry.isEmpty else { continue }
            if host == entry || host.hasSuffix("." + entry) { return true }
        }
        return false
    }

    /// `http://[user:password@]host[:port]` (or `host:port`), port 80 by default.
    static func parse(_ text: String, named name: String, credentials: String?) throws -> Server {
        let withScheme = text.contains("://") ? text : "http://" + text
        guard let parts = URLComponents(string: withScheme), let host = parts.host, !host.isEmpty else {
            throw HTTPSinkProxyError("\(name) '\(text)' is not a proxy URL like http://proxy.example.com:3128")
        }
        guard parts.scheme?.lowercased() == "http" else {
            throw HTTPSinkProxyError(
                "\(name) uses \(parts.scheme ?? "?")://; only http:// proxies are supported (https hubs are still reached over TLS, with CONNECT)")
        }
        let userinfo = parts.percentEncodedUser.map { user in
            (user.removingPercentEncoding ?? user) + ":" + ((parts.percentEncodedPassword ?? "").removingPercentEncoding ?? "")
        }
        return Server(host: host, port: parts.port ?? 80, credentials: credentials ?? userinfo)
    }
}

/// A proxy setting the sink cannot use.
public struct HTTPSinkProxyError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

@testable import HTTPSink
import Testing

/// Which proxy the sink picks for a hub URL from `hub.proxy` and the environment.
@Suite("HTTP sink proxy choice")
struct HTTPSinkProxyTests {
    static let environment = [
        "HTTPS_PROXY": "http://secure.proxy:3128", "HTTP_PROXY": "http://plain.proxy:8080",
        "NO_PROXY": "localhost, .internal.example, example.org:8443, 10.0.0.5, [::1]",
    ]

    func chosen(_ url: String, _ setting: HTTPSinkProxy.Setting = .environment, environment: [String: String] = environment) throws -> String? {
        try HTTPSinkProxy(setting: setting).server(for: url, environment: environment)?.description
    }

    @Test("HTTPS_PROXY for https hubs, HTTP_PROXY for http hubs; lowercase wins")
    func byScheme() throws {
        #expect(try chosen("https://hub.example.com/v1/events") == "secure.proxy:3128")
        #expect(try chosen("http://hub.example.com/v1/events") == "plain.proxy:8080")
        var lower = Self.environment
        lower["https_proxy"] = "http://lower.proxy:1"
        #expect(try chosen("https://hub.example.com/v1/events", environment: lower) == "lower.proxy:1")
        #expect(try chosen("https://hub.example.com/v1/events", environment: [:]) == nil)
    }

    @Test("NO_PROXY: names, domain suffixes, ports ignored, addresses, IPv6 in brackets, *")
    func noProxy() throws {
        for url in ["https://localhost/x", "https://hub.internal.example/x", "https://internal.example/x",
                    "https://example.org/x", "https://10.0.0.5:8443/x", "https://[::1]:8443/x"] {
            #expect(try chosen(url) == nil, "\(url)")
        }
        for url in ["https://notinternal.example/x", "https://example.org.evil.com/x", "https://10.0.0.50/x"] {
            #expect(try chosen(url) == "secure.proxy:3128", "\(url)")
        }
        #expect(try chosen("https://anything/x", environment: ["HTTPS_PROXY": "http://p:1", "no_proxy": "*"]) == nil)
    }

    @Test("hub.proxy wins over the environment, none ignores it; credentials come from the file, else the URL")
    func configured() throws {
        #expect(try chosen("https://localhost/x", .url("http://cfg.proxy:3128")) == "cfg.proxy:3128")
        #expect(try chosen("https://hub.example.com/x", .direct) == nil)
        let fromFile = try HTTPSinkProxy(setting: .url("http://cfg.proxy:3128"), credentials: "u:p").server(for: "https://h/x", environment: [:])
        #expect(fromFile?.credentials == "u:p")
        let fromURL = try HTTPSinkProxy(setting: .environment).server(
            for: "https://h/x", environment: ["HTTPS_PROXY": "http://us%40er:p%3Ass@p:1"])
        #expect(fromURL?.credentials == "us@er:p:ss")
        #expect(try chosen("https://h/x", environment: ["HTTPS_PROXY": "p.example:3128"]) == "p.example:3128")
        #expect(try chosen("https://h/x", environment: ["HTTPS_PROXY": "http://p.example"]) == "p.example:80")
    }

    @Test("a proxy that is not http:// is an error naming where it came from")
    func notHTTP() {
        for (setting, environment, name) in [
            (HTTPSinkProxy.Setting.environment, ["HTTPS_PROXY": "https://p:3128"], "HTTPS_PROXY"),
            (.environment, ["https_proxy": "socks5://p:1080"], "https_proxy"),
            (.url("https://p:3128"), [:], "hub.proxy"),
        ] {
            #expect {
                try HTTPSinkProxy(setting: setting).server(for: "https://hub/x", environment: environment)
            } throws: { "\($0)".contains(name) && "\($0)".contains("only http:// proxies") }
        }
    }
}

import Foundation

/// The parts of a URL the loader checks: scheme and host (lowercased, IPv6 without brackets).
struct EndpointURL {
    let scheme: String
    let host: String

    /// Nil unless `text` is an absolute URL with a scheme and a host.
    init?(_ text: String) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(),
            var host = url.host?.lowercased(), !host.isEmpty
        else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.scheme = scheme
        self.host = host
    }

    /// True for `localhost`, 127.0.0.0/8 and `::1`: traffic that never leaves the machine.
    var isLoopback: Bool {
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy { UInt8($0) != nil }
    }
}

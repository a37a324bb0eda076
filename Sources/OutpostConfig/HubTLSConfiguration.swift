/// The hub's `tls:` block: serve HTTPS with this certificate, and require client certificates
/// signed by `client_ca_file` (mutual TLS) when it is set.
public struct HubTLSConfiguration: Sendable, Equatable {
    /// PEM certificate chain of the listener, leaf first.
    public var certFile: String
    /// PEM private key of the listener's certificate.
    public var keyFile: String
    /// PEM bundle of the CAs that sign agents' client certificates; set means every client
    /// must present a certificate that chains to one of them.
    public var clientCAFile: String?

    public init(certFile: String, keyFile: String, clientCAFile: String? = nil) {
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
    }
}

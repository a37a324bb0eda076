import AsyncHTTPClient
import NIOSSL

/// TLS settings for an `https://` hub: a custom CA bundle and an optional client
/// certificate for mutual TLS. Empty means the system trust store and no client certificate.
/// TLS 1.2 is the oldest version offered, whatever else is set.
public struct HTTPSinkTLS: Sendable, Equatable {
    public var caFile: String?
    public var clientCertFile: String?
    public var clientKeyFile: String?

    public init(caFile: String? = nil, clientCertFile: String? = nil, clientKeyFile: String? = nil) {
        self.caFile = caFile
        self.clientCertFile = clientCertFile
        self.clientKeyFile = clientKeyFile
    }

    func makeConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caFile {
            tls.trustRoots = .file(caFile)
        }
        if let clientCertFile, let clientKeyFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCertFile).map { .certificate($0) }
            // PEM whatever the file is called: NIOSSL's `.file` reads anything not named *.pem as DER.
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKeyFile, format: .pem))
        }
        return tls
    }
}

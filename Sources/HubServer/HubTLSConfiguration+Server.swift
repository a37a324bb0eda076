import HummingbirdTLS
import NIOSSL
import OutpostConfig

extension HubTLSConfiguration {
    /// The listener's TLS settings: the certificate chain and key, and — with `client_ca_file` —
    /// a requirement that every client presents a certificate signed by one of those CAs.
    public func serverConfiguration() throws(HubTLSError) -> TLSConfiguration {
        let chain = try Self.load("tls.cert_file", certFile) { try NIOSSLCertificate.fromPEMFile($0) }
        let key = try Self.load("tls.key_file", keyFile) { try NIOSSLPrivateKey(file: $0, format: .pem) }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12  // agents' data and tokens never travel over TLS 1.0 or 1.1
        if let clientCAFile {
            let roots = try Self.load("tls.client_ca_file", clientCAFile) { try NIOSSLCertificate.fromPEMFile($0) }
            tls.trustRoots = .certificates(roots)
            // Clients are identified by certificate, not by host name: verify the chain only.
            tls.certificateVerification = .noHostnameVerification
        }
        return tls
    }

    private static func load<Value>(_ key: String, _ path: String, _ read: (String) throws -> Value) throws(HubTLSError) -> Value {
        do {
            let value = try read(path)
            if let certificates = value as? [NIOSSLCertificate], certificates.isEmpty {
                throw HubTLSError(key: key, path: path, reason: "no PEM certificate in it")
            }
            return value
        } catch let error as HubTLSError {
            throw error
        } catch {
            throw HubTLSError(key: key, path: path, reason: "\(error)")
        }
    }
}

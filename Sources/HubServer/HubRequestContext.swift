import Hummingbird
import NIOCore
import NIOSSL
import X509

/// The hub's request context: Hummingbird's core context plus the connection the request came
/// on, to read the client certificate of a mutual-TLS connection.
public struct HubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The subject of the client certificate the connection presented (RFC 4514, as
    /// `openssl x509 -noout -subject -nameopt RFC2253` prints it), or `nil` without one.
    func clientCertificateSubject() async -> String? {
        guard let der = try? await channel.pipeline.handler(type: NIOSSLServerHandler.self)
            .flatMapThrowing({ try $0.peerCertificate?.toDERBytes() }).get()
        else { return nil }
        return (try? Certificate(derEncoded: der))?.subject.description
    }
}

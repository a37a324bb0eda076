/// A failure talking to the broker. After any error other than `.invalidConfiguration`, the
/// ``AMQPConnection`` it came from is unusable: close it and open a new one.
public struct AMQPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The URL, credentials file or arguments are wrong; retrying will not help.
        case invalidConfiguration
        /// No TCP/TLS connection, or it broke.
        case connectionFailed
        /// The broker refused the login or an operation (reply code 403).
        case accessRefused
        /// An exchange or queue does not exist (reply code 404).
        case notFound
        /// The broker closed the channel or connection for another reason.
        case closedByBroker
        /// The broker did not answer in time.
        case timeout
        /// The connection was closed by this process.
        case closed
    }

    public var kind: Kind
    /// The AMQP reply code, when the broker sent one.
    public var replyCode: Int?
    public var message: String

    public init(_ kind: Kind, _ message: String, replyCode: Int? = nil) {
        self.kind = kind
        self.message = message
        self.replyCode = replyCode
    }

    public var description: String { message }
}

import OutpostConfig
import Synchronization

/// The agents the hub accepts, which a configuration reload (`SIGHUP`) replaces while the hub
/// runs: a request is authenticated against the list current when it arrives.
public final class HubAgentDirectory: Sendable {
    private let entries: Mutex<[(digest: TokenDigest?, agent: HubAgent)]>

    public init(_ agents: [HubAgent]) {
        entries = Mutex(Self.entries(agents))
    }

    public var agents: [HubAgent] { entries.withLock { $0.map(\.agent) } }

    /// The agents with their token digests, for `BearerAuthenticator`.
    var withDigests: [(digest: TokenDigest?, agent: HubAgent)] { entries.withLock { $0 } }

    public func replace(with agents: [HubAgent]) {
        let next = Self.entries(agents)
        entries.withLock { $0 = next }
    }

    private static func entries(_ agents: [HubAgent]) -> [(digest: TokenDigest?, agent: HubAgent)] {
        agents.map { (TokenDigest(hex: $0.tokenSHA256), $0) }
    }
}

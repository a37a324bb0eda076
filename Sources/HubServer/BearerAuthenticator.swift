import OutpostConfig

/// Maps an `Authorization: Bearer <token>` header to the configured agent the token belongs
/// to. Every configured digest is compared, in constant time, so the answer's timing does not
/// reveal which digest (or how much of one) matched.
struct BearerAuthenticator: Sendable {
    private let directory: HubAgentDirectory

    init(directory: HubAgentDirectory) {
        self.directory = directory
    }

    init(agents: [HubAgent]) {
        self.init(directory: HubAgentDirectory(agents))
    }

    /// The agent whose token the header carries, or `nil` (no header, not Bearer, unknown token).
    func agent(authorization: String?) -> HubAgent? {
        guard let presented = Self.digestOfBearerToken(authorization) else { return nil }
        var match: HubAgent?
        for candidate in directory.withDigests {
            if let digest = candidate.digest, digest.matchesInConstantTime(presented), match == nil {
                match = candidate.agent
            }
        }
        return match
    }

    /// The digest of the token in an `Authorization: Bearer <token>` header value.
    static func digestOfBearerToken(_ authorization: String?) -> TokenDigest? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingSpaces
        return token.isEmpty ? nil : TokenDigest(of: String(token))
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else { return "" }
        return self[first...last]
    }
}

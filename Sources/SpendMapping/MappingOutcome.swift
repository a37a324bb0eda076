/// What mapping one stored event gave.
public enum MappingOutcome: Sendable, Equatable {
    /// No profile takes the event (not an IDoc, or a type without a profile).
    case unmapped
    case mapped(CanonicalDocument)
    /// A profile takes it, but required fields are missing or malformed: the event stays
    /// stored, and the problems are recorded as a mapping failure.
    case failed(profile: String, problems: [MappingProblem])
}

/// One field a mapping could not fill, and why.
public struct MappingProblem: Codable, Sendable, Equatable {
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }
}

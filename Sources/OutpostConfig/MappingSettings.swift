import SpendMapping

/// The hub's `mapping:` section: canonical mapping of stored IDocs (docs/MAPPING.md).
public struct MappingSettings: Sendable, Equatable {
    /// `enabled`: map stored events to canonical documents (default on).
    public var enabled = true
    /// `tolerance_percent`: how far above ordered or received an invoice may go before the
    /// three-way match reports it (default 0).
    public var tolerancePercent: ExactDecimal = .zero
    /// `profiles`: overrides and extensions of the built-in profiles.
    public var overrides: [ProfileOverride] = []
    /// `flat_layouts` on top of the built-in layouts.
    public var flatLayout: FlatSegmentLayout = .builtIn

    public init() {}
}

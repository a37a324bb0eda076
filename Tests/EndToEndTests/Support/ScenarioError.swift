/// A failure of an end-to-end step, with what the processes logged, so a red test explains itself.
struct ScenarioError: Error, CustomStringConvertible {
    let description: String
    /// Stops an ``Eventually`` poll at once instead of being retried until the deadline.
    let isFatal: Bool

    init(_ description: String, fatal: Bool = false) {
        self.description = description
        self.isFatal = fatal
    }
}

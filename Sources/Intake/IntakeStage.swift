/// The steps ``OutboxIntake`` takes with each input, in order; a test hook given to the
/// intake is called as each begins.
public enum IntakeStage: Sendable, Equatable {
    /// The whole input is about to be hashed.
    case hashing
    /// Decoding has started (on a thread of its own).
    case decoding
    /// The events are inserted; the transaction is about to commit.
    case committing
    /// The transaction committed; the intake waits for the log sync that makes it durable.
    case syncing
}

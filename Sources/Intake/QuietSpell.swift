import Synchronization

/// Whether the agent is in a quiet spell: it has given back its memory (the idle release) and
/// nothing has woken it since.
///
/// Periodic work that would bring code back into a quiet agent's memory is put off while the
/// spell lasts and done just before the next release, which follows the next wake-up: the
/// heartbeat's, once a minute, at the latest. The outbox maintenance's SQLite work, every 30 s,
/// otherwise brought about 2.8 MiB of SQLite's code back between heartbeats, where it stayed
/// until the release after the next one.
public final class QuietSpell: Sendable {
    private struct State {
        var quiet = false
        var putOff = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether the spell lasts now.
    public var isQuiet: Bool { state.withLock { $0.quiet } }

    /// The memory was given back: the spell begins.
    public func released() { state.withLock { $0.quiet = true } }

    /// New work: the spell ends.
    public func woken() { state.withLock { $0.quiet = false } }

    /// True when the spell lasts: the round of work asking is put off (``takePutOff()`` says so
    /// later); false when it is to be done now.
    public func putOffWhileQuiet() -> Bool {
        state.withLock { s in
            if s.quiet { s.putOff = true }
            return s.quiet
        }
    }

    /// Whether a round was put off since the last call.
    public func takePutOff() -> Bool {
        state.withLock { s in
            defer { s.putOff = false }
            return s.putOff
        }
    }
}

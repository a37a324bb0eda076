import Synchronization

/// The async face of one SFTP connection: each call runs on the client's own
/// ``SessionThread``, (re)connecting first when there is no live session. A failure that
/// breaks the session closes it; the next call connects again.
final class SFTPClient: @unchecked Sendable {
    private let settings: SFTPSourceSettings
    private let thread: SessionThread
    /// Touched only on `thread`.
    private var connection: SSHConnection?
    private let live = Atomic<Bool>(false)

    init(settings: SFTPSourceSettings) {
        self.settings = settings
        thread = SessionThread(name: "sftp-\(settings.name)")
    }

    /// Whether a session is open (as of the last call).
    var isConnected: Bool { live.load(ordering: .relaxed) }

    /// Runs `body` with a live connection on the session thread.
    ///
    /// Cancelling the calling task makes `isCancelled` return true; long operations
    /// (downloads) check it between chunks and stop with ``SSHFailure/cancelled``.
    func perform<T: Sendable>(_ body: @escaping @Sendable (SSHConnection, _ isCancelled: () -> Bool) throws(SSHFailure) -> T) async throws(SSHFailure) -> T {
        let cancelled = CancellationFlag()
        do {
            return try await withTaskCancellationHandler {
                try await thread.run { [self] () throws(SSHFailure) -> T in
                    let connection = try connected()
                    do throws(SSHFailure) {
                        return try body(connection, { cancelled.isSet })
                    } catch {
                        if error.breaksConnection { disconnect(graceful: false) }
                        throw error
                    }
                }
            } onCancel: {
                cancelled.set()
            }
        } catch let failure as SSHFailure {
            throw failure
        } catch {
            throw .cancelled
        }
    }

    /// Sends a keepalive when a session is open; a dead session is closed.
    func keepalive() async {
        _ = try? await thread.run { [self] in
            guard let connection else { return }
            do { try connection.keepalive() } catch { disconnect(graceful: false) }
        }
    }

    /// Closes the session (if any) and ends the thread.
    func shutdown() async {
        _ = try? await thread.run { [self] in disconnect(graceful: true) }
        thread.finish()
    }

    private func connected() throws(SSHFailure) -> SSHConnection {
        if let connection { return connection }
        let fresh = try SSHConnection(settings: settings)
        connection = fresh
        live.store(true, ordering: .relaxed)
        return fresh
    }

    private func disconnect(graceful: Bool) {
        connection?.close(graceful: graceful)
        connection = nil
        live.store(false, ordering: .relaxed)
    }
}

/// Set once from a cancellation handler, read from the session thread.
final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

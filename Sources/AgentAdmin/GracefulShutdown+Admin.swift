import ServiceLifecycle

/// Runs `body` until graceful shutdown starts (then cancels it); a cancellation is the
/// normal way out, not an error.
func untilGracefulShutdown(_ body: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown {
            try await body()
        }
    } catch is CancellationError {
        return
    }
}

import Testing

/// End-to-end tests: the built `outpost` and `outpost-hub` binaries on 127.0.0.1, each test
/// in its own temporary directory with its own hub port. Serialized, because each test runs
/// two processes that compete for the machine's cores.
@Suite("End to end (built binaries on loopback)", .serialized)
struct EndToEnd {}

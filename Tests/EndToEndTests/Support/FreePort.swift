import TestSupport

/// A TCP port on 127.0.0.1 that nothing listens on right now.
enum FreePort {
    static func pick() throws -> Int { try LoopbackPort.free() }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The sd_notify(3) protocol without libsystemd: newline-separated `KEY=VALUE` datagrams sent
/// to the `AF_UNIX` socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the abstract
/// namespace). Outside systemd (`NOTIFY_SOCKET` unset) every call is a no-op.
///
/// A unit with `Type=notify` counts as started at `READY=1`; `STATUS=` shows in
/// `systemctl status`; `STOPPING=1` announces a graceful stop; `WATCHDOG=1` keeps a unit
/// with `WatchdogSec=` from being killed as hung.
public struct SystemdNotifier: Sendable {
    /// The socket address from `NOTIFY_SOCKET`, or nil outside systemd.
    public let socketPath: String?
    /// How often systemd expects `WATCHDOG=1` (`WATCHDOG_USEC`), in seconds; nil when the
    /// unit has no `WatchdogSec=` or the watchdog is meant for another process (`WATCHDOG_PID`).
    public let watchdogInterval: Double?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment`.
    public init(environment: [String: String]) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        var interval: Double?
        if let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 {
            let pid = environment["WATCHDOG_PID"].flatMap { Int32($0) }
            if pid == nil || pid == getpid() { interval = Double(usec) / 1_000_000 }
        }
        watchdogInterval = interval
    }

    /// Whether a service manager listens.
    public var isEnabled: Bool { socketPath != nil }

    /// `READY=1`, with a `STATUS=` line.
    @discardableResult
    public func ready(status: String) -> Bool { send(["READY=1", "STATUS=" + status]) }

    /// `STATUS=…` (one line; newlines are replaced by spaces).
    @discardableResult
    public func status(_ text: String) -> Bool { send(["STATUS=" + text]) }

    /// `STOPPING=1`, with a `STATUS=` line.
    @discardableResult
    public func stopping(status: String) -> Bool { send(["STOPPING=1", "STATUS=" + status]) }

    /// `RELOADING=1` with the time it began (`MONOTONIC_USEC`, as systemd asks of a service
    /// that reloads), and a `STATUS=` line; `ready(status:)` ends the reload.
    @discardableResult
    public func reloading(status: String) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        return send(["RELOADING=1", "MONOTONIC_USEC=\(microseconds)", "STATUS=" + status])
    }

    /// `WATCHDOG=1`.
    @discardableResult
    public func watchdog() -> Bool { send(["WATCHDOG=1"]) }

    /// Sends one datagram holding `assignments` (each `KEY=VALUE`). Returns whether it was
    /// delivered; false outside systemd or when the socket is gone (never throws: a missing
    /// service manager must not stop the service).
    @discardableResult
    public func send(_ assignments: [String]) -> Bool {
        guard let socketPath else { return false }
        let message = assignments.map { $0.replacingNewlines() }.joined(separator: "\n")
        return SystemdNotifier.sendDatagram(Array(message.utf8), to: socketPath)
    }

    static func sendDatagram(_ payload: [UInt8], to path: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(path.utf8)
        let abstract = pathBytes.first == UInt8(ascii: "@")
        if abstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        // A filesystem path needs its terminating NUL inside sun_path; an abstract name does not.
        guard pathBytes.count + (abstract ? 0 : 1) <= capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + pathBytes.count + (abstract ? 0 : 1))
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let sent = payload.withUnsafeBytes { body in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                    sendto(fd, body.baseAddress, body.count, Int32(MSG_NOSIGNAL), sockaddrPointer, length)
                }
            }
        }
        return sent == payload.count
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        String(map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}

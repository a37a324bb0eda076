import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Thousands of hostile connections to 127.0.0.1:`port`, kept up on a thread of their own
/// until ``stop()``: half-open ones (connected, nothing sent, or half a request line), ones
/// that dribble a request's headers a byte every half second, and ones that send complete
/// headers and then a body at a byte a second. A connection the server closes is counted and
/// replaced by a new one of the same kind, so the pressure lasts.
final class HostileCrowd: @unchecked Sendable {
    enum Kind: String, CaseIterable, Sendable {
        /// Connects and sends nothing.
        case silent
        /// Sends half a request line, then nothing.
        case partialLine
        /// Sends a request's line and headers a byte at a time, one every 500 ms.
        case headerDribble
        /// Sends complete headers announcing a 64 KiB body, then one body byte a second.
        case slowBody
    }

    /// What the crowd did, read after ``stop()``.
    struct Tally: Sendable {
        /// Connections attempted.
        var tried = 0
        /// Attempts whose `socket()` or `connect()` failed at once.
        var connectFailed = 0
        /// Most connections open at the same time.
        var peakHeld = 0
        /// Connections the server closed, per kind.
        var closedByServer: [Kind: Int] = [:]
        var totalClosedByServer: Int { closedByServer.values.reduce(0, +) }
    }

    private struct Connection {
        let fd: Int32
        let kind: Kind
        var sent = 0
        var nextSend: Double
    }

    private let port: Int
    private let targets: [Kind: Int]
    private let lock = NSLock()
    private var running = true
    private var tally = Tally()
    private let finished = DispatchSemaphore(value: 0)
    private static let headerDribbleBytes = Array("POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\r\n".utf8)
    private static let slowBodyHead = Array(
        "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer not-a-token\r\nContent-Length: 65536\r\n\r\n".utf8)

    /// Starts the crowd: `targets[kind]` connections of each kind held open at all times.
    init(port: Int, targets: [Kind: Int]) {
        self.port = port
        self.targets = targets
        Thread.detachNewThread { [self] in run() }
    }

    /// Closes every connection and returns what the crowd did.
    func stop() -> Tally {
        lock.withLock { running = false }
        finished.wait()
        return lock.withLock { tally }
    }

    private func run() {
        var connections: [Connection] = []
        var open: [Kind: Int] = [:]
        while lock.withLock({ running }) {
            let now = Date().timeIntervalSinceReferenceDate
            // Open what is missing, at most 300 a round so the listener's backlog is not the limit.
            var opened = 0
            for kind in Kind.allCases {
                while open[kind, default: 0] < targets[kind, default: 0], opened < 300 {
                    opened += 1
                    lock.withLock { tally.tried += 1 }
                    guard let fd = connect() else {
                        lock.withLock { tally.connectFailed += 1 }
                        break
                    }
                    connections.append(Connection(fd: fd, kind: kind, nextSend: now))
                    open[kind, default: 0] += 1
                }
            }
            lock.withLock { tally.peakHeld = max(tally.peakHeld, connections.count) }
            // Send what is due.
            for index in connections.indices where connections[index].nextSend <= now {
                sendNext(&connections[index], now: now)
            }
            // Notice the connections the server closed.
            var polled = connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            _ = poll(&polled, nfds_t(polled.count), 50)
            var kept: [Connection] = []
            kept.reserveCapacity(connections.count)
            for (connection, state) in zip(connections, polled) {
                if state.revents != 0 && closedByPeer(connection.fd) {
                    close(connection.fd)
                    open[connection.kind, default: 0] -= 1
                    lock.withLock { tally.closedByServer[connection.kind, default: 0] += 1 }
                } else {
                    kept.append(connection)
                }
            }
            connections = kept
        }
        for connection in connections { close(connection.fd) }
        finished.signal()
    }

    private func sendNext(_ connection: inout Connection, now: Double) {
        let bytes: [UInt8]
        switch connection.kind {
        case .silent:
            connection.nextSend = .infinity
            return
        case .partialLine:
            bytes = Array("POST /v1/ev".utf8)
            connection.nextSend = .infinity
        case .headerDribble:
            guard connection.sent < Self.headerDribbleBytes.count - 1 else { connection.nextSend = .infinity; return }
            bytes = [Self.headerDribbleBytes[connection.sent]]
            connection.nextSend = now + 0.5
        case .slowBody:
            bytes = connection.sent == 0 ? Self.slowBodyHead : [UInt8(ascii: "[")]
            connection.nextSend = now + 1
        }
        let sent = bytes.withUnsafeBytes { send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        if sent > 0 {
            connection.sent += 1
        } else {
            connection.nextSend = now + 0.1  // still connecting, or the buffer is full: later
        }
    }

    /// A non-blocking connection to the port, or nil when the attempt fails at once.
    private func connect() -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 || errno == EINPROGRESS else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Reads what is there; true when the peer closed or reset the connection.
    private func closedByPeer(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 { continue }  // an answer (400, 401…): the close follows
            if count == 0 { return true }
            return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
        }
    }
}

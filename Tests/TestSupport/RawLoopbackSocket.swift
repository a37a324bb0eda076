import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client on 127.0.0.1 that sends exactly the bytes a test chooses — a partial
/// request, a trickle, oversized headers — and reads what the server answers, every read
/// bounded by a deadline. For testing how a server treats slow and hostile clients. Waits run
/// on a thread of their own, never on the concurrency pool a server in the same process needs.
public final class RawLoopbackSocket: @unchecked Sendable {
    private let fd: Int32
    private var buffered = [UInt8]()

    /// Connects to 127.0.0.1:`port`.
    public init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SubprocessError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            let code = errno
            close(fd)
            throw SubprocessError("connect to 127.0.0.1:\(port) failed: errno \(code)")
        }
    }

    deinit { close(fd) }

    /// Sends `text`; `false` when the server already closed the connection.
    @discardableResult
    public func send(_ text: String) -> Bool {
        send(Array(text.utf8))
    }

    /// Sends `bytes`; `false` when the server already closed the connection.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    /// Whether the server closes the connection within `seconds`: the read sees end of file or
    /// a reset. Bytes the server sends meanwhile are kept for ``readResponse(within:)``.
    public func closedByServer(within seconds: Double) async -> Bool {
        await onOwnThread { self.closedByServerBlocking(within: seconds) }
    }

    /// The status and body of the next response, or `nil` if none arrived within `seconds`.
    public func readResponse(within seconds: Double) async -> (status: Int, body: String)? {
        await onOwnThread { self.readResponseBlocking(within: seconds).map { Answer(status: $0.status, body: $0.body) } }
            .map { ($0.status, $0.body) }
    }

    private struct Answer: Sendable {
        var status: Int
        var body: String
    }

    private func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: work()) }
        }
    }

    private func closedByServerBlocking(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            switch read(until: deadline) {
            case .closed: return true
            case .timedOut: return false
            case .data: continue
            }
        }
        return false
    }

    private func readResponseBlocking(within seconds: Double) -> (status: Int, body: String)? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let response = takeResponse() { return response }
            guard Date() < deadline, case .data = read(until: deadline) else { return takeResponse() }
        }
    }

    private enum ReadResult { case data, closed, timedOut }

    private func read(until deadline: Date) -> ReadResult {
        let remaining = deadline.timeIntervalSinceNow
        guard remaining > 0 else { return .timedOut }
        var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pollFD, 1, Int32(max(1, remaining * 1000)))
        guard ready > 0 else { return .timedOut }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return .closed }
        buffered += chunk[0..<count]
        return .data
    }

    /// A complete response (headers plus Content-Length bytes) from the buffer, if there is one.
    private func takeResponse() -> (status: Int, body: String)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0...max(0, buffered.count - 4)).first(where: { buffered.count >= 4 && Array(buffered[$0..<$0 + 4]) == separator })
        else { return nil }
        let head = String(decoding: buffered[0..<end], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        guard let statusText = lines.first?.split(separator: " ").dropFirst().first, let status = Int(statusText) else { return nil }
        let length = lines.dropFirst().compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first ?? 0
        guard buffered.count >= end + 4 + length else { return nil }
        let body = String(decoding: buffered[(end + 4)..<(end + 4 + length)], as: UTF8.self)
        buffered.removeFirst(end + 4 + length)
        return (status, body)
    }
}

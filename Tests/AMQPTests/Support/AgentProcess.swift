import Foundation
import TestSupport

/// The built `outpost` and `outpost-hub` executables, run as child processes on loopback.
enum AgentProcess {
    /// The built executable `name` (next to the test bundle, or in .build/debug).
    static func binary(_ name: String) throws -> String {
        do { return try PackageLayout.executable(name) } catch { throw BrokerError("\(error)") }
    }

    /// Starts `executable` with its output appended to `log`.
    static func start(_ executable: String, _ arguments: [String], log: String) throws -> Subprocess {
        try Subprocess(executable, arguments, stdout: .append(log), stderr: .append(log))
    }

    /// SIGTERM (or `signal`), then wait up to 15 s, then SIGKILL.
    static func stop(_ process: Subprocess, signal: Int32 = SIGTERM) async {
        await process.stop(signal: signal, grace: 15)
    }

    static func tail(_ log: String, lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

/// `GET` on 127.0.0.1 with a raw socket (HTTP/1.0, no proxies), answering the JSON body.
enum LoopbackGET {
    static func json(port: Int, path: String) throws -> [String: Any] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BrokerError("socket() failed") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw BrokerError("nothing listens on 127.0.0.1:\(port)") }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer.append(contentsOf: buffer[0..<n])
        }
        let separator = Array("\r\n\r\n".utf8)
        guard let split = (0..<max(0, answer.count - 3)).first(where: { Array(answer[$0..<($0 + 4)]) == separator }),
              let object = try JSONSerialization.jsonObject(with: Data(answer[(split + 4)...])) as? [String: Any]
        else { throw BrokerError("127.0.0.1:\(port)\(path) answered no JSON: \(String(decoding: answer.prefix(300), as: UTF8.self))") }
        return object
    }
}

import Foundation

/// A minimal HTTP/1.1 GET client (`Connection: close`) for 127.0.0.1 (raw sockets: no proxy settings, no libcurl).
enum LoopbackHTTP {
    struct Response {
        let status: Int
        let body: Data

        /// The body as a JSON object.
        func jsonObject() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw ScenarioError("expected a JSON object, got: \(String(decoding: body.prefix(300), as: UTF8.self))")
            }
            return object
        }
    }

    /// `GET path` on `127.0.0.1:port`; throws when nothing listens or the answer is cut.
    static func get(port: Int, path: String, timeout: Double = 10) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try blockingGet(port: port, path: path, timeout: timeout) })
            }
        }
    }

    private static func blockingGet(port: Int, path: String, timeout: Double) throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ScenarioError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw ScenarioError("nothing answers on 127.0.0.1:\(port) (errno \(errno))") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: application/json\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, request.count - sent, 0) }
            guard n > 0 else { throw ScenarioError("sending the request to 127.0.0.1:\(port) failed (errno \(errno))") }
            sent += n
        }
        var answer = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ScenarioError("reading the answer from 127.0.0.1:\(port)\(path) failed (errno \(errno))")
            }
            if n == 0 { break }
            answer.append(contentsOf: buffer[0..<n])
        }
        return try parse(answer, what: "127.0.0.1:\(port)\(path)")
    }

    private static func parse(_ answer: Data, what: String) throws -> Response {
        guard let headerEnd = answer.range(of: Data("\r\n\r\n".utf8)) else {
            throw ScenarioError("\(what) answered without a complete header: \(String(decoding: answer.prefix(200), as: UTF8.self))")
        }
        let head = String(decoding: answer[..<headerEnd.lowerBound], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw ScenarioError("\(what) answered a malformed status line: \(lines[0])")
        }
        var body = Data(answer[headerEnd.upperBound...])
        let headers = lines.dropFirst().map { $0.lowercased() }
        if headers.contains(where: { $0.hasPrefix("transfer-encoding:") && $0.contains("chunked") }) {
            body = try dechunk(body, what: what)
        } else if let length = headers.first(where: { $0.hasPrefix("content-length:") })
            .flatMap({ Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }),
            body.count != length
        {
            throw ScenarioError("\(what): body has \(body.count) bytes, Content-Length says \(length)")
        }
        return Response(status: status, body: body)
    }

    private static func dechunk(_ data: Data, what: String) throws -> Data {
        var out = Data()
        var rest = data[...]
        while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
            let sizeText = String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")[0]
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { break }
            if size == 0 { return out }
            let start = lineEnd.upperBound
            guard rest.endIndex - start >= size + 2 else { break }
            out.append(rest[start..<(start + size)])
            rest = rest[(start + size + 2)...]
        }
        throw ScenarioError("\(what): the chunked body is cut")
    }
}

import Foundation
import TestSupport

/// A throwaway certificate authority made with the `openssl` command in a temp directory: a CA,
/// a server certificate for 127.0.0.1/localhost, a client certificate, and an unrelated CA.
struct TestPKI {
    let directory: URL

    var caFile: String { path("ca.crt") }
    var serverCertFile: String { path("server.crt") }
    var serverKeyFile: String { path("server.key") }
    var clientCertFile: String { path("client.crt") }
    var clientKeyFile: String { path("client.key") }
    /// Another agent's client certificate from the same CA (subject `CN=plant-apac-01`).
    var otherClientCertFile: String { path("other-client.crt") }
    var otherClientKeyFile: String { path("other-client.key") }
    /// A CA that signed nothing here: trusting only it must fail.
    var otherCAFile: String { path("other-ca.crt") }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try makeCA("ca", name: "Outpost Test CA")
        try makeCA("other-ca", name: "Unrelated CA")
        try makeLeaf("server", name: "localhost", extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        try makeLeaf("client", name: "plant-emea-01", extensions: "extendedKeyUsage=clientAuth\n")
        try makeLeaf("other-client", name: "plant-apac-01", extensions: "extendedKeyUsage=clientAuth\n")
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func makeCA(_ stem: String, name: String) throws {
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path("\(stem).key"), "-out", path("\(stem).crt"), "-days", "2", "-subj", "/CN=\(name)",
        ])
    }

    private func makeLeaf(_ stem: String, name: String, extensions: String) throws {
        try extensions.write(toFile: path("\(stem).ext"), atomically: true, encoding: .utf8)
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path("\(stem).key"), "-out", path("\(stem).csr"), "-subj", "/CN=\(name)",
        ])
        try openssl([
            "x509", "-req", "-in", path("\(stem).csr"), "-CA", caFile, "-CAkey", path("ca.key"), "-CAcreateserial",
            "-out", path("\(stem).crt"), "-days", "2", "-extfile", path("\(stem).ext"),
        ])
    }

    private func openssl(_ arguments: [String]) throws {
        let result = try Subprocess.runBlocking("openssl", arguments, timeout: 60)
        guard result.status == 0 else {
            throw PKIError(message: "openssl \(arguments.joined(separator: " ")) failed: \(result.stderr)\(result.stdout)")
        }
    }
}

struct PKIError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

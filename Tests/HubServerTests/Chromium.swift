import Foundation

/// Headless Chromium, to check the dashboard as a browser renders it.
enum Chromium {
    static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                        "--no-first-run", "--disable-extensions", "--user-data-dir=" + NSTemporaryDirectory() + "outpost-chromium"]

    /// The DOM after the page loaded.
    static func dumpDOM(_ url: String) async throws -> String {
        try await run(flags + ["--dump-dom", url])
    }

    /// A 1280×1000 PNG of the page.
    static func screenshot(_ url: String, to path: String) async throws {
        _ = try await run(flags + ["--screenshot=\(path)", "--window-size=1280,1000", url])
    }

    /// Runs Chromium off the cooperative pool and returns its standard output.
    private static func run(_ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path!)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
    }
}

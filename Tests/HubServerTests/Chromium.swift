import Foundation
import TestSupport

/// Headless Chromium, to check the dashboard as a browser renders it.
enum Chromium {
    static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// A profile directory of each run's own: two Chromiums on one profile refuse to start.
    static var flags: [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run",
         "--disable-extensions", "--user-data-dir=" + NSTemporaryDirectory() + "outpost-chromium-\(UUID().uuidString)"]
    }

    /// The DOM after the page loaded.
    static func dumpDOM(_ url: String) async throws -> String {
        try await run(flags + ["--dump-dom", url])
    }

    /// A 1280×1000 PNG of the page.
    static func screenshot(_ url: String, to path: String) async throws {
        _ = try await run(flags + ["--screenshot=\(path)", "--window-size=1280,1000", url])
    }

    /// Runs Chromium (at most two minutes) and returns its standard output. Only the main
    /// process is waited for: helpers it leaves behind cannot hold the test up.
    private static func run(_ arguments: [String]) async throws -> String {
        guard let path else { throw SubprocessError("chromium is not installed (apt-get install chromium; scripts/install-deps.sh --test does)") }
        defer {
            for argument in arguments where argument.hasPrefix("--user-data-dir=") {
                try? FileManager.default.removeItem(atPath: String(argument.dropFirst("--user-data-dir=".count)))
            }
        }
        let result = try await Subprocess.run(path, arguments, timeout: 120)
        guard result.status == 0 else { throw SubprocessError("chromium failed: \(result)") }
        return result.stdout
    }
}

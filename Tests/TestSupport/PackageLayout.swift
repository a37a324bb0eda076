import Foundation

/// Where the package root, the built executables and the public samples are, for every test target.
///
/// `swift test` runs the test bundle from the build's bin directory (`.build/<triple>/debug`),
/// which is where SwiftPM puts the package's executables; `/proc/self/exe` finds it. When the
/// tests run from elsewhere, `.build/debug` under the package root is the fallback.
public enum PackageLayout {
    /// The package root: the nearest ancestor of this file that holds `Package.swift`.
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        fatalError("no Package.swift above \(#filePath)")
    }()

    /// The directory holding the package's built executables.
    public static let binDirectory: URL? = {
        var candidates: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        candidates.append(root.appendingPathComponent(".build/debug"))
        return candidates.first { dir in
            ["outpost", "outpost-hub"].allSatisfy {
                FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent($0).path)
            }
        }
    }()

    /// Path of the built executable `name`, or an error that says how to build it.
    public static func executable(_ name: String) throws -> String {
        guard let binDirectory else {
            throw SubprocessError(
                "cannot find the built `outpost` and `outpost-hub` next to the test bundle or in .build/debug; "
                    + "run `swift build --build-tests` first")
        }
        return binDirectory.appendingPathComponent(name).path
    }

    /// `../shared/samples/public` beside the package root.
    public static func publicSamples() throws -> URL {
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/samples/public")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SubprocessError(
                "the public IDoc samples are missing: expected the directory \(url.path) (../shared/samples/public "
                    + "beside the package root); check them out there")
        }
        return url
    }

    /// The last `lines` lines of a log file, for failure messages.
    public static func tail(_ log: String, lines: Int = 40) -> String {
        guard let data = FileManager.default.contents(atPath: log) else { return "(no log at \(log))" }
        let all = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        return all.suffix(lines).joined(separator: "\n")
    }
}

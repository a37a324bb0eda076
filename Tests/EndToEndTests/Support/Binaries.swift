import Foundation

/// Where the built `outpost` and `outpost-hub` executables and the public samples are.
///
/// `swift test` runs the test bundle from the build's bin directory (`.build/<triple>/debug`),
/// which is where SwiftPM puts the package's executables; `/proc/self/exe` finds it. When the
/// tests run from elsewhere, `.build/debug` under the package root is the fallback.
enum Binaries {
    /// The package root: the nearest ancestor of this file that holds `Package.swift`.
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        fatalError("no Package.swift above \(#filePath)")
    }()

    /// The directory holding both executables.
    static let directory: URL? = {
        var candidates: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        return candidates.first { dir in
            ["outpost", "outpost-hub"].allSatisfy {
                FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent($0).path)
            }
        }
    }()

    /// Path of the executable `name`, or an error that says how to build it.
    static func path(_ name: String) throws -> String {
        guard let directory else {
            throw ScenarioError(
                "cannot find the built `outpost` and `outpost-hub` next to the test bundle or in .build/debug; "
                    + "run `swift build --build-tests` first")
        }
        return directory.appendingPathComponent(name).path
    }

    /// `../shared/samples/public` next to the package root.
    static func publicSamples() throws -> URL {
        let url = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/samples/public")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ScenarioError(
                "the public IDoc samples are missing: expected the directory \(url.path) (../shared/samples/public "
                    + "beside the package root); check them out there")
        }
        return url
    }
}

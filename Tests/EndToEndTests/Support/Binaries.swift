import Foundation
import TestSupport

/// Where the built `outpost` and `outpost-hub` executables and the public samples are.
enum Binaries {
    static var packageRoot: URL { PackageLayout.root }

    /// Path of the executable `name`, or an error that says how to build it.
    static func path(_ name: String) throws -> String { try PackageLayout.executable(name) }

    /// `../shared/samples/public` next to the package root.
    static func publicSamples() throws -> URL { try PackageLayout.publicSamples() }
}

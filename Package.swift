// swift-tools-version:6.1
import PackageDescription

// Layout: Sources/ holds the core (event model, outbox, forwarder, agent wiring, CLIs, hub);
// Adapters/ holds the edges (codecs, sources, sinks, C library shims). The core libraries never
// depend on an adapter; only the `outpost` executable (the composition root) knows them all.
/// The release link of the two programs: LLD (shipped with the Swift toolchain) packs the
/// relative relocations (DT_RELR, glibc 2.36 or later) and the executables export no dynamic
/// symbols, so the loader reads and maps about 5 MiB less of the binary at start
/// (docs/BENCHMARKS.md, "A smaller binary in memory"). Each program's code is laid out as
/// deploy/link/ says: the functions a profiled run saw run at the start of `.text`, in the order
/// of the file `order`, and the compiler's private functions in one block just before it, so
/// that a running program touches few pages of its code ("The code that runs, side by side"; scripts/build-release.sh compiles a
/// section per function, without which the linker can only move whole files' code).
func leanReleaseLink(order: String) -> [LinkerSetting] {
    let link = "\(Context.packageDirectory)/deploy/link"
    return [.unsafeFlags(
        ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
         "-Xlinker", "--symbol-ordering-file=\(link)/\(order)", "-Xlinker", "--no-warn-symbol-ordering",
         "-Xlinker", "-T", "-Xlinker", "\(link)/sections.lds"],
        .when(configuration: .release))]
}

let package = Package(
    name: "Outpost",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "outpost", targets: ["outpost"]),
        .executable(name: "outpost-hub", targets: ["outpost-hub"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
    ],
    targets: [
        // MARK: core
        .target(name: "EventModel", path: "Sources/EventModel"),
        .target(name: "SpendMapping", dependencies: ["EventModel"], path: "Sources/SpendMapping"),
        .target(
            name: "Outbox",
            dependencies: ["EventModel", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Sources/Outbox"),
        .target(
            name: "Forwarder",
            dependencies: [
                "EventModel", "Outbox", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Forwarder"),
        .target(
            name: "OutpostConfig",
            dependencies: ["EventModel", "SpendMapping", .product(name: "Yams", package: "Yams")],
            path: "Sources/OutpostConfig"),
        .target(
            name: "Intake",
            dependencies: [
                "EventModel", "Outbox", "Forwarder",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Intake"),
        // Log lines for both executables: logfmt or JSON, journald-aware.
        .target(
            name: "LogFormat",
            dependencies: ["EventModel", .product(name: "Logging", package: "swift-log")],
            path: "Sources/LogFormat"),
        // The version both executables report (OutpostVersion).
        .target(name: "BuildInfo", path: "Sources/BuildInfo"),
        .target(name: "ProcessMemory", path: "Sources/ProcessMemory"),
        // sd_notify(3) without libsystemd: READY/STATUS/STOPPING/WATCHDOG datagrams.
        .target(name: "SystemdNotify", path: "Sources/SystemdNotify"),
        // Limits every HTTP listener puts on its clients: header deadline, body rate, idle
        // time, header size (431) and a connection cap (the hub's and the agent's admin listener).
        .target(
            name: "ListenerGuard",
            dependencies: [
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/ListenerGuard"),
        // The agent's admin listener (/metrics, /healthz, /readyz), heartbeats and watchdog.
        .target(
            name: "AgentAdmin",
            dependencies: [
                "Intake", "BuildInfo", "EventModel", "Outbox", "Forwarder", "SystemdNotify", "ListenerGuard", "ProcessMemory",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/AgentAdmin"),
        .target(
            name: "HubServer",
            dependencies: [
                "OutpostConfig", "EventModel", "ListenerGuard", "SpendMapping",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/HubServer"),
        .executableTarget(
            name: "outpost",
            dependencies: [
                "Intake", "AgentAdmin", "BuildInfo", "SystemdNotify", "LogFormat", "OutpostConfig", "EventModel", "Outbox", "Forwarder",
                "IDocXML", "IDocFlat", "RawDocument", "FileDrop", "SFTPSource", "HTTPSink", "ContentCoding", "AMQPClient",
                "AMQPSource", "AMQPSink", "SQLiteDirectBinding", "ProcessMemory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/outpost",
            linkerSettings: leanReleaseLink(order: "outpost.order")),
        .executableTarget(
            name: "outpost-hub",
            dependencies: [
                "HubServer", "BuildInfo", "OutpostConfig", "SystemdNotify", "LogFormat", "SpendMapping", "IDocXML", "IDocFlat",
                "EventModel", "ContentCoding", "ProcessMemory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/outpost-hub",
            linkerSettings: leanReleaseLink(order: "outpost-hub.order")),

        // MARK: adapters
        .systemLibrary(
            name: "CLibXML2", path: "Adapters/CLibXML2", pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]),
        .target(name: "IDocXML", dependencies: ["EventModel", "CLibXML2"], path: "Adapters/IDocXML"),
        .target(name: "IDocFlat", dependencies: ["EventModel", "SpendMapping"], path: "Adapters/IDocFlat"),
        .target(name: "RawDocument", dependencies: ["EventModel"], path: "Adapters/RawDocument"),
        // What the file sources share: name filters, claim names, quarantine reasons.
        .target(name: "FileSourceSupport", dependencies: ["EventModel"], path: "Adapters/FileSourceSupport"),
        .target(
            name: "FileDrop",
            dependencies: ["EventModel", "FileSourceSupport", .product(name: "Logging", package: "swift-log")],
            path: "Adapters/FileDrop"),
        .systemLibrary(
            name: "CLibSSH2", path: "Adapters/CLibSSH2", pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]),
        .target(
            name: "SFTPSource",
            dependencies: ["EventModel", "CLibSSH2", "FileSourceSupport", .product(name: "Logging", package: "swift-log")],
            path: "Adapters/SFTPSource"),
        // The outbox's chunk inserts bound straight to SQLite's C API (the only module that calls it).
        .target(
            name: "SQLiteDirectBinding",
            dependencies: [
                "Outbox", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            path: "Adapters/SQLiteDirectBinding"),
        // The CloudEvents batch body both sinks splice their events into.
        .target(name: "CloudEventWire", dependencies: ["EventModel"], path: "Adapters/CloudEventWire"),
        .target(
            name: "HTTPSink",
            dependencies: [
                "CloudEventWire", "EventModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Adapters/HTTPSink"),
        // gzip and zstd request bodies: the HTTP sink compresses, the hub (given them by outpost-hub) decompresses.
        .systemLibrary(name: "CZlib", path: "Adapters/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", path: "Adapters/CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .target(name: "ContentCoding", dependencies: ["EventModel", "CZlib", "CZstd"], path: "Adapters/ContentCoding"),
        .systemLibrary(
            name: "CRabbitMQ", path: "Adapters/CRabbitMQ", pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]),
        .target(name: "AMQPClient", dependencies: ["CRabbitMQ"], path: "Adapters/AMQPClient"),
        .target(
            name: "AMQPSource",
            dependencies: ["EventModel", "AMQPClient", .product(name: "Logging", package: "swift-log")],
            path: "Adapters/AMQPSource"),
        .target(
            name: "AMQPSink",
            dependencies: ["CloudEventWire", "EventModel", "AMQPClient", .product(name: "Logging", package: "swift-log")],
            path: "Adapters/AMQPSink"),

        // WAN bytes and CPU time of the codecs on ORDERS05 batches (docs/BENCHMARKS.md).
        .executableTarget(
            name: "bench-compression", dependencies: ["CloudEventWire", "EventModel", "ContentCoding"], path: "scripts/bench/compression"),

        // MARK: tests
        // Child processes (posix_spawn, bounded waits), free loopback ports, built executables and samples.
        .target(name: "TestSupport", dependencies: ["EventModel"], path: "Tests/TestSupport"),
        .testTarget(name: "EventModelTests", dependencies: ["EventModel"], path: "Tests/EventModelTests"),
        .testTarget(name: "ProcessMemoryTests", dependencies: ["ProcessMemory"], path: "Tests/ProcessMemoryTests"),
        .testTarget(
            name: "ListenerGuardTests",
            dependencies: ["ListenerGuard", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            path: "Tests/ListenerGuardTests"),
        .testTarget(name: "CloudEventWireTests", dependencies: ["CloudEventWire", "EventModel"], path: "Tests/CloudEventWireTests"),
        .testTarget(name: "FileSourceSupportTests", dependencies: ["FileSourceSupport"], path: "Tests/FileSourceSupportTests"),
        .testTarget(
            name: "SpendMappingTests",
            dependencies: ["TestSupport", "SpendMapping", "EventModel", "IDocXML", "IDocFlat"],
            path: "Tests/SpendMappingTests"),
        .testTarget(
            name: "OutboxTests",
            dependencies: [
                "TestSupport", "Outbox", "SQLiteDirectBinding", "EventModel", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            path: "Tests/OutboxTests"),
        .testTarget(
            name: "ForwarderTests",
            dependencies: ["TestSupport", "Forwarder", "Outbox", "EventModel", .product(name: "Logging", package: "swift-log")],
            path: "Tests/ForwarderTests"),
        .testTarget(
            name: "IntakeTests",
            dependencies: ["RawDocument", "TestSupport", "Intake", "Outbox", "EventModel", "Forwarder", "CloudEventWire", .product(name: "Logging", package: "swift-log")],
            path: "Tests/IntakeTests"),
        .testTarget(
            name: "HTTPSinkTests",
            dependencies: ["TestSupport", "HTTPSink", "EventModel", .product(name: "NIOCore", package: "swift-nio")],
            path: "Tests/HTTPSinkTests"),
        .testTarget(name: "OutpostConfigTests", dependencies: ["OutpostConfig", "SpendMapping"], path: "Tests/OutpostConfigTests"),
        .testTarget(name: "IDocXMLTests", dependencies: ["TestSupport", "IDocXML", "EventModel"], path: "Tests/IDocXMLTests"),
        .testTarget(name: "IDocFlatTests", dependencies: ["TestSupport", "IDocFlat", "EventModel"], path: "Tests/IDocFlatTests"),
        .testTarget(
            name: "FileDropTests",
            dependencies: ["RawDocument", "FileDrop", "EventModel", "Intake", "Outbox", "FileSourceSupport", .product(name: "Logging", package: "swift-log")],
            path: "Tests/FileDropTests"),
        .testTarget(
            name: "SFTPSourceTests",
            dependencies: ["RawDocument", 
                "TestSupport",
                "SFTPSource", "EventModel", "Intake", "Outbox", "FileSourceSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/SFTPSourceTests"),
        .testTarget(
            name: "HubServerTests",
            dependencies: [
                "TestSupport", "HubServer", "OutpostConfig", "SpendMapping", "IDocXML", "IDocFlat", "EventModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/HubServerTests"),
        .testTarget(
            name: "HubTLSTests",
            dependencies: [
                "TestSupport",
                "HubServer", "HTTPSink", "CloudEventWire", "EventModel", "OutpostConfig", "ContentCoding",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/HubTLSTests"),
        .testTarget(
            name: "AMQPTests",
            dependencies: ["RawDocument", 
                "TestSupport",
                "AMQPClient", "AMQPSource", "AMQPSink", "EventModel", "Intake", "Outbox", "Forwarder", "IDocXML",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/AMQPTests"),
        .testTarget(
            name: "AgentAdminTests",
            dependencies: [
                "RawDocument", "TestSupport", "AgentAdmin", "Intake", "BuildInfo", "SystemdNotify", "Outbox", "Forwarder",
                "EventModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/AgentAdminTests"),
        .testTarget(
            name: "LogFormatTests", dependencies: ["LogFormat", .product(name: "Logging", package: "swift-log")],
            path: "Tests/LogFormatTests"),
        .testTarget(name: "DeployTests", dependencies: ["TestSupport"], path: "Tests/DeployTests"),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport"], path: "Tests/EndToEndTests"),
    ],
    swiftLanguageModes: [.v6]
)

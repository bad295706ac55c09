// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "agentbox",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "agentbox", targets: ["Appliance"]),
        .executable(name: "agentbox-do-sim", targets: ["DigitalOceanStandInMain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
    ],
    targets: [
        // C libraries from Debian, reached through module maps.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // Modules of the card's layout.
        .target(name: "Storage", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "Vault", dependencies: ["CSodium"]),
        .target(name: "JSONSchema"),
        .target(name: "HTTPClient", dependencies: ["CCurl"]),
        .target(name: "DockerHost", dependencies: ["HTTPClient"]),
        .target(name: "ToolboxProtocol"),
        .target(name: "DigitalOcean", dependencies: ["HTTPClient", .product(name: "Metrics", package: "swift-metrics")]),
        .target(
            name: "ToolboxAgent",
            dependencies: ["DockerHost", "HTTPClient", "JSONSchema", "ToolboxProtocol", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "Services",
            dependencies: [
                "Storage", "Vault", "JSONSchema", "HTTPClient", "ToolboxProtocol", "DigitalOcean", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "Appliance",
            dependencies: [
                "Services",
                "JSONSchema",
                "HTTPClient",
                "DockerHost",
                "ToolboxAgent",
                "DigitalOcean",
                "ToolboxProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "MCP", package: "swift-sdk"),
            ]
        ),

        // The DigitalOcean API v2 stand-in: a library and its executable, apart from the appliance's modules.
        .target(
            name: "DigitalOceanStandIn",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "DigitalOceanStandInMain",
            dependencies: [
                "DigitalOceanStandIn", .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Tests: one target per module, sharing fixtures that use the real code paths.
        .target(
            name: "TestSupport",
            dependencies: ["Services", "Storage", "Vault", "ToolboxProtocol", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "JSONSchemaTests", dependencies: ["JSONSchema"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "TestSupport"]),
        .testTarget(name: "VaultTests", dependencies: ["Vault", "Services", "Storage", "TestSupport"]),
        .testTarget(
            name: "ServicesTests",
            dependencies: [
                "Services", "Storage", "JSONSchema", "TestSupport", "ToolboxProtocol", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient", "TestSupport"]),
        .testTarget(name: "DockerHostTests", dependencies: ["DockerHost", "TestSupport"]),
        .testTarget(name: "DigitalOceanTests", dependencies: ["DigitalOcean", "TestSupport"]),
        .testTarget(name: "DigitalOceanStandInTests", dependencies: ["DigitalOceanStandInMain"]),
        .testTarget(name: "ToolboxAgentTests", dependencies: ["ToolboxAgent", "ToolboxProtocol", "DockerHost", "HTTPClient", "JSONSchema", "TestSupport"]),
        .testTarget(
            name: "ApplianceTests",
            dependencies: [
                "Appliance", "Services", "Storage", "Vault", "TestSupport", "DockerHost", "HTTPClient", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)

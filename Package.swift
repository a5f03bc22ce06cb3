// swift-tools-version:6.1
import PackageDescription

/// Strict settings on every Swift target (as Hummingbird does): existentials spelled out,
/// imports visible only where they are declared, and `public import` only where a type leaks.
let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Tandem",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tandem", targets: ["TandemCLI"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "Models", targets: ["Models"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // librdkafka, the system C library (Debian `librdkafka-dev`): client and mock cluster headers.
        .systemLibrary(
            name: "CRDKafka",
            path: "Shared/CRDKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // The Swift wrapper over librdkafka. Knows Kafka, nothing of customers.
        .target(
            name: "Kafka",
            dependencies: [
                "CRDKafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/Kafka",
            swiftSettings: strictSwift
        ),
        // Records, topic names, JSON coding and validation. No I/O, no Kafka.
        .target(
            name: "Models",
            path: "Shared/Models",
            swiftSettings: strictSwift
        ),
        // What every service stands on: configuration, the processing loop, dead letters, state stores, event time.
        .target(
            name: "ServiceKit",
            dependencies: [
                "Kafka",
                "Models",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/ServiceKit",
            swiftSettings: strictSwift
        ),
        // The benchmark ceiling: minimal loops written directly against librdkafka's C API, so that
        // `tandem bench kafka` measures the wrapper against plain C in the same run. It exists only
        // for that comparison; every symbol is prefixed `tandem_ceiling_`.
        .target(
            name: "CKafkaCeiling",
            path: "Shared/CKafkaCeiling",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("rdkafka")]
        ),
        // `tandem`: the developer CLI (embedded broker, topic creation, benchmarks).
        .executableTarget(
            name: "TandemCLI",
            dependencies: [
                "Kafka",
                "Models",
                "CKafkaCeiling",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Tandem",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: [
                "Kafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/KafkaTests",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ServiceKitTests",
            dependencies: [
                "ServiceKit",
                "Kafka",
                "Models",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ServiceKitTests",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ModelsTests",
            dependencies: ["Models"],
            path: "Tests/ModelsTests",
            resources: [.copy("Fixtures")],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Models"],
            path: "Tests/IntegrationTests",
            swiftSettings: strictSwift
        ),
    ]
)

// swift-tools-version:6.1
import PackageDescription

/// Strict settings on every Swift target (as Hummingbird does): existentials spelled out,
/// imports visible only where they are declared, and `public import` only where a type leaks.
/// Release builds optimise across modules, so the kit's generic stores and the models' codecs are
/// specialised in the services that use them (≈ +25 % for intake's processor), and leave out the
/// run-time exclusivity checks (≈ +7 % for intake's processor: every mutation of a class's stored
/// property went through the runtime's access set). The compiler's static checks stay, and debug
/// builds — every test run — keep the run-time ones, so an overlapping access still fails a test.
let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Tandem",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tandem", targets: ["TandemCLI"]),
        .executable(name: "tandem-intake", targets: ["IntakeMain"]),
        .executable(name: "tandem-segmentation", targets: ["SegmentationMain"]),
        .executable(name: "tandem-leads", targets: ["LeadsMain"]),
        .executable(name: "tandem-kpi", targets: ["KPIMain"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "Models", targets: ["Models"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
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
        // simdjson (Debian `libsimdjson-dev`, C++) behind a small C ABI: the fast JSON path of the models.
        // Every exported symbol is prefixed `tandem_json_`.
        .target(
            name: "CSimdjson",
            path: "Shared/CSimdjson",
            cxxSettings: [.unsafeFlags(["-O2", "-std=c++17"])],
            linkerSettings: [.linkedLibrary("simdjson")]
        ),
        // Records, topic names, JSON coding and validation. No I/O, no Kafka.
        .target(
            name: "Models",
            dependencies: ["CSimdjson"],
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
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
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
        // The four services: each a library with its logic and a small executable.
        .target(
            name: "Intake",
            dependencies: [
                "Models",
                "ServiceKit",
                "Kafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Intake/Intake",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "IntakeMain",
            dependencies: ["Intake", "ServiceKit", "Kafka"],
            path: "Services/Intake/Main",
            swiftSettings: strictSwift
        ),
        .target(
            name: "Segmentation",
            dependencies: ["Models", "ServiceKit", "Kafka", .product(name: "Metrics", package: "swift-metrics")],
            path: "Services/Segmentation/Segmentation",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "SegmentationMain",
            dependencies: ["Segmentation", "ServiceKit"],
            path: "Services/Segmentation/Main",
            swiftSettings: strictSwift
        ),
        .target(
            name: "Leads",
            dependencies: [
                "Models",
                "ServiceKit",
                "Kafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Leads/Leads",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "LeadsMain",
            dependencies: ["Leads", "ServiceKit"],
            path: "Services/Leads/Main",
            swiftSettings: strictSwift
        ),
        .target(
            name: "KPI",
            dependencies: [
                "Models", "ServiceKit", "Kafka", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Services/KPI/KPI",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "KPIMain",
            dependencies: ["KPI", "ServiceKit"],
            path: "Services/KPI/Main",
            swiftSettings: strictSwift
        ),
        // The traffic simulator's logic: a deterministic stream of catalog, account and interaction
        // records and the marketing team's lead outcomes. Pure: no Kafka (`tandem simulate` sends it).
        .target(
            name: "Simulator",
            dependencies: ["Models"],
            path: "Services/Simulator/Simulator",
            swiftSettings: strictSwift
        ),
        // `tandem`: the developer CLI (embedded broker, topic creation, benchmarks).
        .executableTarget(
            name: "TandemCLI",
            dependencies: [
                "Kafka",
                "Models",
                "ServiceKit",
                "CKafkaCeiling",
                "Intake",
                "Segmentation",
                "Leads",
                "KPI",
                "Simulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Tandem",
            swiftSettings: strictSwift
        ),
        // Helpers every test target shares (waiting for a condition with a deadline, a seeded generator).
        .target(
            name: "TestSupport",
            dependencies: ["Simulator"],
            path: "Tests/TestSupport",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: [
                "TestSupport",
                "Kafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/KafkaTests",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ServiceKitTests",
            dependencies: [
                "TestSupport",
                "ServiceKit",
                "Kafka",
                "Models",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ServiceKitTests",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "IntakeTests",
            dependencies: [
                "TestSupport",
                "Intake", "ServiceKit", "Models", "Kafka", "Simulator", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/IntakeTests",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "SegmentationTests",
            dependencies: [
                "TestSupport",
                "Segmentation", "ServiceKit", "Models", "Kafka", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SegmentationTests",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "LeadsTests",
            dependencies: [
                "TestSupport",
                "Leads", "ServiceKit", "Models", "Kafka", "Simulator", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/LeadsTests",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "KPITests",
            dependencies: [
                "KPI", "ServiceKit", "Models", "Kafka", "Simulator", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/KPITests",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "SimulatorTests",
            dependencies: [
                "TestSupport", "Simulator", "Models", "Kafka", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SimulatorTests",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ModelsTests",
            dependencies: ["TestSupport", "Models", "Simulator"],
            path: "Tests/ModelsTests",
            resources: [.copy("Fixtures")],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "TestSupport",
                "Models",
                "Kafka",
                "Simulator",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/IntegrationTests",
            swiftSettings: strictSwift
        ),
    ]
)

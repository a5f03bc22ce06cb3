public import Foundation
public import Logging
import Metrics
public import Models
public import Prometheus
public import ServiceLifecycle
import UnixSignals

/// Runs a ``ProcessingLoop`` as a lifecycle service: stops fetching on graceful shutdown,
/// finishes the batch in hand, commits, leaves the group.
public struct PipelineService<Processor: RecordProcessor>: Service, CustomStringConvertible {
    public let loop: ProcessingLoop<Processor>

    public init(loop: ProcessingLoop<Processor>) {
        self.loop = loop
    }

    public var description: String { "Pipeline" }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await loop.run()
        } onGracefulShutdown: {
            loop.stop()
        }
    }
}

/// What every service executable does, so that each `main` is a few lines.
public enum TandemService {
    /// A running service's parts, for tests that drive them in process.
    public struct Parts<Processor: RecordProcessor>: Sendable {
        public let group: ServiceGroup
        public let loop: ProcessingLoop<Processor>
        public let http: HealthServer
    }

    /// Reads the configuration, bootstraps logging and metrics, runs the service until SIGTERM or
    /// SIGINT, and returns the process exit code: 0 after a clean shutdown, 2 for a bad
    /// configuration (the message names the key), 1 for a failure while running.
    ///
    /// - Parameters:
    ///   - name: the service's name (`intake`, …): its group id, metrics label and log label.
    ///   - defaultPort: the HTTP port when `TANDEM_HTTP_PORT` is not set.
    ///   - defaultThreads: processing threads when `TANDEM_THREADS` is not set. A service whose
    ///     processor keeps only per-partition state may run several (the loop's shards); one whose
    ///     processor needs every partition's records (a table held whole) must keep 1.
    ///   - defaultMaxBatch: records per processing batch when `TANDEM_MAX_BATCH` is not set.
    ///   - makeProcessor: builds the business logic from the configuration and the rules.
    ///   - makeEndpoints: the service's own HTTP endpoints (intake's webhook), from the
    ///     configuration and the environment; a ``ConfigurationError`` stops the service with exit 2.
    public static func main<Processor: RecordProcessor>(
        name: String,
        defaultPort: Int,
        defaultThreads: Int = 1,
        defaultMaxBatch: Int = ServiceConfiguration.defaultMaxBatch,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        makeProcessor: @Sendable (ServiceConfiguration, Rules) throws -> Processor,
        makeEndpoints: @Sendable (ServiceConfiguration, Rules, [String: String], Logger) throws -> [any HTTPEndpoint] =
            {
                _,
                _,
                _,
                _ in []
            }
    ) async -> Int32 {
        let level: Logger.Level
        if let text = environment["TANDEM_LOG_LEVEL"] {
            guard let parsed = Logger.Level(rawValue: text.lowercased()) else {
                return fail(
                    "TANDEM_LOG_LEVEL",
                    "expected trace, debug, info, notice, warning, error or critical, got '\(text)'"
                )
            }
            level = parsed
        } else {
            level = .info
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tandem.\(name)")

        // Before anything is built: processors and endpoints create their metrics in their initialisers.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let configuration: ServiceConfiguration
        let rules: Rules
        var processors: [Processor] = []
        let endpoints: [any HTTPEndpoint]
        do {
            configuration = try ServiceConfiguration.fromEnvironment(
                environment,
                service: name,
                defaultPort: defaultPort,
                defaultMaxBatch: defaultMaxBatch
            )
            rules = try Rules.load(path: configuration.rulesPath)
            for _ in 0..<(configuration.threads ?? defaultThreads) {
                processors.append(try makeProcessor(configuration, rules))
            }
            endpoints = try makeEndpoints(configuration, rules, environment, logger)
        } catch let error as ConfigurationError {
            return fail(error.key, error.problem)
        } catch {
            return fail("configuration", "\(error)")
        }

        do {
            let parts = try makeParts(
                configuration: configuration,
                processors: processors,
                endpoints: endpoints,
                registry: registry,
                logger: logger
            )
            logger.info(
                "starting",
                metadata: [
                    "kafka.brokers": "\(configuration.brokers)", "http.port": "\(configuration.httpPort)",
                    "threads": "\(processors.count)",
                ]
            )
            try await parts.group.run()
            logger.info("stopped")
            return 0
        } catch {
            logger.critical("service failed", metadata: ["error": "\(error)"])
            return 1
        }
    }

    /// Builds the service group: the endpoints' own services, the HTTP server, then the pipeline
    /// (shutdown runs in reverse: the pipeline stops first while health and metrics still answer,
    /// and endpoints release what in-flight requests need only after the server has stopped).
    public static func makeParts<Processor: RecordProcessor>(
        configuration: ServiceConfiguration,
        processors: [Processor],
        endpoints: [any HTTPEndpoint] = [],
        registry: PrometheusCollectorRegistry,
        logger: Logger
    ) throws -> Parts<Processor> {
        let loop = try ProcessingLoop(
            configuration: configuration,
            processors: processors,
            deadLetterTopic: configuration.topic(Topics.deadLetter),
            logger: logger
        )
        let http = HealthServer(
            port: configuration.httpPort,
            routes: [
                "/health/live": { (200, "text/plain", Array("live\n".utf8)) },
                "/health/ready": {
                    loop.isReady
                        ? (200, "text/plain", Array("ready\n".utf8)) : (503, "text/plain", Array("not ready\n".utf8))
                },
                "/metrics": { (200, "text/plain; version=0.0.4", registry.emitToBuffer()) },
            ],
            endpoints: endpoints,
            logger: logger
        )
        var groupConfiguration = ServiceGroupConfiguration(
            services: endpoints.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + [
                .init(service: http),
                .init(service: PipelineService(loop: loop)),
            ],
            logger: logger
        )
        groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint]
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(9)
        return Parts(group: ServiceGroup(configuration: groupConfiguration), loop: loop, http: http)
    }

    private static func fail(_ key: String, _ problem: String) -> Int32 {
        FileHandle.standardError.write(Data("configuration error: \(key): \(problem)\n".utf8))
        return 2
    }
}

import ArgumentParser
import Foundation
import Kafka
import Logging
import Models

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `tandem demo`: the whole suite on the embedded broker, with a live view.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The suite on the embedded broker: the four services as processes, the simulator, a live view.",
        discussion: """
            Starts librdkafka's mock cluster in this process with every topic, the four service executables \
            (found next to this binary) as separate processes, and `tandem simulate`; then shows, once a \
            second, the services' throughput and lag, KPIs by channel and tier, leads and suppressions, the \
            opinion share of voice and dead letters. Ctrl-C (or --duration) stops everything and prints a summary.
            """
    )

    @Option(help: "Seconds to run; 0 runs until Ctrl-C.")
    var duration: Int = 0

    @Option(help: "Simulated events per second.")
    var rate: Int = 200

    @Option(help: "Simulated customers.")
    var customers: Int = 5_000

    @Option(help: "The simulator's seed.")
    var seed: Int = 42

    @Option(help: "Partitions of every topic.")
    var partitions: Int = 6

    @Option(help: "HTTP port of the first service (intake); the others follow.")
    var basePort: Int = 8081

    @Flag(help: "Plain progress lines instead of the full-screen view (for logs).")
    var plain = false

    @Flag(help: "Print the summary as one JSON object as the last line.")
    var json = false

    func run() async throws {
        var logger = Logger(label: "tandem.demo")
        logger.logLevel = .critical
        let stop = TerminationSignals(supervising: true)
        // The wallboard refreshes every second: let the open hour window update every 5 s (the
        // default, 60 s, suits a dashboard that polls once a minute).
        let suite = try EmbeddedSuite(
            name: "demo",
            partitions: partitions,
            basePort: basePort,
            rules: "kpi:\n  windows:\n    hour:\n      updateThrottleSeconds: 5\n",
            logger: logger,
            status: status
        )
        let (bootstrap, directory, binaries, services) = (
            suite.bootstrap, suite.directory, suite.binaries, suite.services
        )
        var simulator: Child?
        var exitCode: Int32 = 0
        do {
            try await suite.waitUntilReady(stop: stop, status: status)
            status("starting the simulator…")
            var simulatorArguments = [
                "simulate", "--brokers", bootstrap, "--rate", String(rate), "--customers", String(customers),
                "--seed", String(seed),
            ]
            if duration > 0 { simulatorArguments += ["--duration", String(duration)] }
            simulator = try Child(
                name: "simulator",
                executable: binaries.appendingPathComponent("tandem"),
                arguments: simulatorArguments,
                environment: [:],
                log: directory.appendingPathComponent("simulator.log"),
                port: nil
            )

            // Only now: a child started after SIGINT/SIGTERM are set to be ignored would inherit that.
            stop.install()
            let observer = try Observer(bootstrap: bootstrap, partitions: partitions, logger: logger)
            var view = DemoView(
                bootstrap: bootstrap,
                partitions: partitions,
                rate: rate,
                customers: customers,
                seed: seed
            )
            let started = ContinuousClock.now
            while !stop.isSet {
                if duration > 0, ContinuousClock.now - started >= .seconds(duration) { break }
                observer.drain(into: &view.state)
                await Self.scrape(services, into: &view)
                view.simulatorExit = simulator.flatMap { $0.isRunning ? nil : $0.describeExit }
                view.elapsed = ContinuousClock.now - started
                if plain {
                    print(view.plainLine())
                } else {
                    print("\u{1B}[H\u{1B}[2J" + view.screen().joined(separator: "\n"))
                }
                try? await Task.sleep(for: .seconds(1))
            }
            status("stopping…")
            simulator?.terminate()
            await simulator?.waitForExit(timeout: .seconds(10))
            // What the simulator sent last is processed before the services stop, so that the
            // summary's per-service counts and the topics' tallies describe the same records.
            let settle = ContinuousClock.now + .seconds(5)
            repeat {
                try? await Task.sleep(for: .milliseconds(250))
                await Self.scrape(services, into: &view)
            } while ContinuousClock.now < settle && services.contains { view.services[$0.name]?.lag ?? 0 > 0 }
            try? await Task.sleep(for: .milliseconds(250))
            await Self.scrape(services, into: &view)
            observer.drain(into: &view.state)
            await observer.close()
            await suite.stopServices()
            let died = services.filter { $0.exitStatus != 0 }
            if !died.isEmpty { exitCode = 1 }
            print(view.summary(services: services, logs: directory).joined(separator: "\n"))
            if json { print(try view.summaryJSON(services: services)) }
        } catch {
            simulator?.terminate()
            await simulator?.waitForExit(timeout: .seconds(10))
            await suite.shutdown()
            throw error
        }
        suite.cluster.shutdown()
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    /// Folds each running service's `/metrics` into the view (a stopped one is reported as such).
    private static func scrape(_ services: [Child], into view: inout DemoView) async {
        for service in services {
            let metrics =
                service.isRunning ? await httpGet("http://127.0.0.1:\(service.port ?? 0)/metrics")?.body : nil
            view.update(service: service.name, metrics: metrics, exit: service.isRunning ? nil : service.describeExit)
        }
    }

    /// A status line on standard error; a closed stream is not an error here (see TerminationSignals).
    private func status(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data("\(text)\n".utf8))
    }
}

/// Reads the suite's output topics from the beginning, without a group.
final class Observer: @unchecked Sendable {
    private let consumer: KafkaConsumer
    private let lock = NSLock()
    private var pending: [KafkaRecord] = []
    private var task: Task<Void, Never>?

    init(bootstrap: String, partitions: Int, logger: Logger) throws {
        consumer = try KafkaConsumer(
            configuration: ["bootstrap.servers": bootstrap, "fetch.wait.max.ms": "50"],
            logger: logger
        )
        let topics = [
            Topics.kpi, Topics.leads, Topics.leadOutcomes, Topics.leadSuppressions, Topics.opinionReport,
            Topics.alerts, Topics.deadLetter, Topics.segments,
        ]
        try consumer.assign(
            topics.flatMap { spec in
                (0..<Int32(partitions)).map {
                    TopicPartitionOffset(topic: spec.name, partition: $0, offset: .beginning)
                }
            }
        )
        let consumer = self.consumer
        task = Task { [weak self] in
            for await record in consumer.records {
                guard let self else { return }
                self.lock.withLock { self.pending.append(record) }
            }
        }
    }

    func drain(into state: inout DemoState) {
        let records = lock.withLock {
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        for record in records { state.ingest(record) }
    }

    func close() async {
        await consumer.close()
        await task?.value
    }
}

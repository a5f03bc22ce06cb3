import ArgumentParser
import Foundation
import Kafka
import Logging
import Models
import Simulator

/// `tandem bench pipeline`: the whole suite end to end — the four service executables on the
/// embedded broker, raw records in, leads and KPIs out.
struct PipelineBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract:
            "End-to-end latency (raw record in → lead and KPI out) and the highest rate the whole suite sustains.",
        discussion: """
            Starts the embedded broker and the four service executables (as `tandem demo` does) with the bench \
            rules (minute KPI windows update on every change: kpi.windows.minute.updateThrottleSeconds 0), seeds \
            the simulator's history (catalog, profiles, bills) and waits until every service group has consumed it. \
            Latency: --seconds of live traffic paced at --rate, event time ≈ wall time; for each lead triggered by \
            one of those raw records, its arrival on cs.leads − the record's produce time; for each raw record, the \
            arrival of the first overall minute snapshot on cs.kpi whose interaction count reaches the record's rank \
            among its window's records − its produce time. Capacity: --flood live records produced as fast as \
            possible; events/s = records ÷ (first produce → every service group's committed offsets equal the high \
            watermarks of all its inputs), with each service's CPU time per event from /proc/<pid>/stat.
            """
    )

    @Option(help: "Raw records per second in the latency phase.")
    var rate: Double = 5_000

    @Option(help: "Seconds of the latency phase.")
    var seconds: Double = 20

    @Option(help: "Simulated customers (their history is seeded first).")
    var customers: Int = 10_000

    @Option(help: "Live records of the capacity phase (0 skips it).")
    var flood: Int = 200_000

    @Option(help: "Partitions of every topic.")
    var partitions: Int = 6

    @Option(help: "The simulator's seed.")
    var seed: UInt64 = 42

    @Option(help: "HTTP port of the first service (intake); the others follow.")
    var basePort: Int = 8091

    @Flag(help: "Print the results as one JSON object as the last line.")
    var json = false

    /// The bench's rules file: only the minute window's throttle differs from the defaults, so the
    /// minute snapshot follows every batch (hours and days keep their 60 s and 300 s).
    static let rules = "kpi:\n  windows:\n    minute:\n      updateThrottleSeconds: 0\n"

    func validate() throws {
        guard rate > 0, rate <= 1_000_000 else { throw ValidationError("--rate must be in (0, 1000000]") }
        guard seconds > 0, seconds <= 3_600 else { throw ValidationError("--seconds must be in (0, 3600]") }
        guard customers >= 1, customers <= 10_000_000 else { throw ValidationError("--customers must be 1–10000000") }
        guard flood >= 0 else { throw ValidationError("--flood must be ≥ 0") }
        guard (1...256).contains(partitions) else { throw ValidationError("--partitions must be 1–256") }
    }

    func run() async throws {
        var logger = Logger(label: "tandem.bench.pipeline")
        logger.logLevel = .critical
        let suite = try EmbeddedSuite(
            name: "bench-pipeline",
            partitions: partitions,
            basePort: basePort,
            rules: Self.rules,
            logger: logger,
            status: status
        )
        // Only now: a child started after SIGINT/SIGTERM are set to be ignored would inherit that.
        let stop = TerminationSignals(supervising: true)
        stop.install()
        let result: PipelineResult
        do {
            try await suite.waitUntilReady(stop: stop, status: status)
            let run = try PipelineRun(suite: suite, stop: stop, logger: logger, status: status)
            do {
                result = try await run.measure(
                    rate: rate,
                    seconds: seconds,
                    customers: customers,
                    flood: flood,
                    seed: seed
                )
            } catch {
                await run.close()
                throw error
            }
            await run.close()
        } catch {
            status("stopping…")
            await suite.shutdown()
            throw error
        }
        status("stopping…")
        await suite.shutdown()
        let unclean = suite.services.filter { $0.exitStatus != 0 }.map { "\($0.name) (\($0.describeExit))" }
        print(result.lines(rate: rate, seconds: seconds, flood: flood, logs: suite.directory).joined(separator: "\n"))
        if !unclean.isEmpty { status("services that did not stop cleanly: \(unclean.joined(separator: ", "))") }
        if json { print(try result.json()) }
    }

    /// A status line on standard error; a closed stream is not an error here (see TerminationSignals).
    private func status(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data("\(text)\n".utf8))
    }
}

/// What one run measured.
struct PipelineResult {
    var leadLatencies: [Double] = []
    var kpiLatencies: [Double] = []
    var liveRecords = 0
    var rawRecords = 0
    var achievedRate = 0.0
    var kpiUnmatched = 0
    var eventTimeOffsetMs = 0.0
    var historyRecords = 0
    var historySeconds = 0.0
    var floodRecords = 0
    var floodSeconds = 0.0
    var produceSeconds = 0.0
    /// CPU seconds per process during the capacity phase (the services, and this process: the
    /// embedded broker, the producer and the progress checks).
    var cpuSeconds: [(name: String, seconds: Double)] = []
    /// Seconds from the flood's first record until each group had processed all its inputs.
    var groupSeconds: [(group: String, seconds: Double)] = []
    /// Records written to each topic during the capacity phase (every service's outputs, internal
    /// topics and changelogs: what the broker and the consumers carry per raw record).
    var floodTopicRecords: [String: Int64] = [:]
    /// CPU seconds per wall second of each service while the latency phase produced.
    var latencyCoresBusy: [(name: String, cores: Double)] = []

    var maxEventsPerSecond: Double { floodSeconds > 0 ? Double(floodRecords) / floodSeconds : 0 }
    var all: [Double] { leadLatencies + kpiLatencies }

    static func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    static func round1(_ value: Double) -> Double { (value * 10).rounded() / 10 }

    func lines(rate: Double, seconds: Double, flood: Int, logs: URL) -> [String] {
        func summary(_ values: [Double]) -> String {
            let p50 = String(format: "%.1f", Self.percentile(values, 0.5))
            let p99 = String(format: "%.1f", Self.percentile(values, 0.99))
            let max = String(format: "%.1f", values.max() ?? 0)
            return "p50 \(p50) ms, p99 \(p99) ms, max \(max) ms (\(values.count) pairs)"
        }
        var lines = [
            "history     \(historyRecords) records seeded and consumed by every service in \(String(format: "%.1f", historySeconds)) s",
            "latency     \(liveRecords) live records (\(rawRecords) raw interactions) at \(Int(rate)) /s for \(seconds) s (achieved \(Int(achievedRate.rounded())) /s, event time − wall time \(String(format: "%.0f", eventTimeOffsetMs)) ms)",
            "  cores busy while producing: "
                + latencyCoresBusy.map { "\($0.name) \(String(format: "%.2f", $0.cores))" }.joined(separator: ", "),
            "  all       \(summary(all))",
            "  lead out  \(summary(leadLatencies))",
            "  KPI out   \(summary(kpiLatencies)) — minute window, overall; count-based estimate"
                + (kpiUnmatched > 0 ? ", \(kpiUnmatched) raw records never reached a snapshot" : ""),
        ]
        if flood > 0 {
            lines.append(
                "capacity    \(floodRecords) live records produced in \(String(format: "%.2f", produceSeconds)) s, all processed by every service in \(String(format: "%.2f", floodSeconds)) s: \(Int(maxEventsPerSecond.rounded())) events/s"
            )
            lines.append(
                "  caught up after  "
                    + groupSeconds.map { "\($0.group) \(String(format: "%.2f", $0.seconds)) s" }.joined(separator: ", ")
            )
            lines.append(
                "  records written per raw record: "
                    + floodTopicRecords.sorted { $0.value > $1.value }.filter { $0.value > 0 }
                    .map { "\($0.key) \(String(format: "%.2f", Double($0.value) / Double(max(1, floodRecords))))" }
                    .joined(separator: ", ")
            )
            lines.append("  CPU per event (capacity phase)      µs/event   CPU s   cores busy")
            for (name, cpu) in cpuSeconds {
                let micros = floodRecords > 0 ? cpu / Double(floodRecords) * 1e6 : 0
                lines.append(
                    "    \(name.padding(toLength: 32, withPad: " ", startingAt: 0))\(String(format: "%9.1f", micros))   \(String(format: "%5.2f", cpu))   \(String(format: "%5.2f", floodSeconds > 0 ? cpu / floodSeconds : 0))"
                )
            }
        }
        lines.append("rules       kpi.windows.minute.updateThrottleSeconds: 0 (TANDEM_RULES); logs in \(logs.path)")
        return lines
    }

    func json() throws -> String {
        var cpu: [String: Double] = [:]
        for (name, seconds) in cpuSeconds where floodRecords > 0 {
            cpu[name] = Self.round1(seconds / Double(floodRecords) * 1e6)
        }
        let object: [String: Any] = [
            "maxEventsPerSecond": maxEventsPerSecond.rounded(),
            "p50Ms": Self.round1(Self.percentile(all, 0.5)),
            "p99Ms": Self.round1(Self.percentile(all, 0.99)),
            "leadP50Ms": Self.round1(Self.percentile(leadLatencies, 0.5)),
            "leadP99Ms": Self.round1(Self.percentile(leadLatencies, 0.99)),
            "kpiP50Ms": Self.round1(Self.percentile(kpiLatencies, 0.5)),
            "kpiP99Ms": Self.round1(Self.percentile(kpiLatencies, 0.99)),
            "leadPairs": leadLatencies.count,
            "kpiPairs": kpiLatencies.count,
            "kpiUnmatched": kpiUnmatched,
            "liveRecords": liveRecords,
            "achievedRate": achievedRate.rounded(),
            "floodRecords": floodRecords,
            "floodSeconds": (floodSeconds * 1000).rounded() / 1000,
            "cpuMicrosPerEvent": cpu,
            "floodTopicRecords": floodTopicRecords,
            "caughtUpSeconds": Dictionary(
                uniqueKeysWithValues: groupSeconds.map { ($0.group, (($0.seconds * 1000).rounded() / 1000)) }
            ),
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// The phases of one bench run against a started, ready suite.
struct PipelineRun {
    let suite: EmbeddedSuite
    let stop: TerminationSignals
    let status: (String) -> Void
    let producer: KafkaProducer
    let progress: GroupProgress
    let outputs: OutputWatch

    init(suite: EmbeddedSuite, stop: TerminationSignals, logger: Logger, status: @escaping (String) -> Void) throws {
        self.suite = suite
        self.stop = stop
        self.status = status
        producer = try KafkaProducer(configuration: ["bootstrap.servers": suite.bootstrap], logger: logger)
        progress = try GroupProgress(bootstrap: suite.bootstrap, partitions: suite.partitions, logger: logger)
        outputs = try OutputWatch(bootstrap: suite.bootstrap, partitions: suite.partitions, logger: logger)
    }

    func close() async {
        try? await producer.flush()
        await producer.close()
        await progress.close()
        await outputs.close()
    }

    private func checkRunning() throws {
        if stop.isSet { throw BenchFailure("interrupted") }
        if !suite.died.isEmpty {
            throw BenchFailure("died: \(suite.died.joined(separator: ", ")) — logs in \(suite.directory.path)")
        }
    }

    /// Produces the records, in batches, as fast as the producer takes them; returns when every
    /// record is acknowledged.
    private func produceAll(_ records: ArraySlice<SimulatedRecord>) async throws {
        var deliveries: [Delivery] = []
        var index = records.startIndex
        while index < records.endIndex {
            try checkRunning()
            let end = min(records.endIndex, index + 2_000)
            var batch = ProducerBatch(reservingCapacity: end - index)
            for record in records[index..<end] { append(record, to: &batch) }
            deliveries.append(await producer.enqueue(batch))
            index = end
        }
        try await acknowledged(deliveries)
    }

    private func acknowledged(_ deliveries: [Delivery]) async throws {
        for delivery in deliveries {
            let reports = await delivery.reports()
            if reports.failureCount > 0 {
                throw BenchFailure(
                    "produce: \(reports.failureCount) records not delivered: \(reports.firstError.map { "\($0)" } ?? "")"
                )
            }
        }
    }

    private func append(_ record: SimulatedRecord, to batch: inout ProducerBatch) {
        batch.append(
            topic: record.topic.name,
            key: Array(record.key.utf8),
            value: record.value,
            timestamp: Int64((record.eventTime.timeIntervalSince1970 * 1000).rounded())
        )
    }

    /// Waits until every service group has processed everything (twice in a row, 50 ms apart);
    /// returns when that was first seen, and when each group was last seen catching up (its own
    /// inputs all processed).
    private func waitUntilCaughtUp(
        timeout: Duration
    ) async throws -> (all: ContinuousClock.Instant, groups: [String: ContinuousClock.Instant]) {
        let deadline = ContinuousClock.now + timeout
        var firstSeen: ContinuousClock.Instant?
        var groupsDone: [String: ContinuousClock.Instant] = [:]
        while true {
            try checkRunning()
            let now = ContinuousClock.now
            let behind = try await progress.behind()
            let late = Set(behind.map(\.group))
            for group in GroupProgress.groups {
                if late.contains(group) {
                    groupsDone[group] = nil
                } else if groupsDone[group] == nil {
                    groupsDone[group] = now
                }
            }
            if behind.isEmpty {
                if let firstSeen { return (firstSeen, groupsDone) }
                firstSeen = now
            } else {
                firstSeen = nil
            }
            if ContinuousClock.now > deadline {
                throw BenchFailure(
                    "the services did not catch up within \(timeout): \(behind.map(\.description).joined(separator: ", "))"
                )
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// A raw interaction's eventId and the start of its minute window (ms); nil for other records.
    static func minuteWindow(of record: SimulatedRecord) -> (String, Int64)? {
        guard record.topic == Topics.interactionsRaw,
            let raw = try? FastJSONDecoder().decodeRawInteraction(record.value), let id = raw.eventId
        else { return nil }
        let time = Int64(((raw.occurredAt ?? record.eventTime).timeIntervalSince1970 * 1000).rounded(.down))
        return (id, time - ((time % 60_000) + 60_000) % 60_000)
    }

    /// Produces the records at a steady `rate`, each batch handed to the producer as soon as its
    /// records are due; returns when each was handed over and when the first was due, once every
    /// record is acknowledged.
    private func pace(
        _ records: [SimulatedRecord],
        rate: Double
    ) async throws -> (produced: [ContinuousClock.Instant], began: ContinuousClock.Instant) {
        let clock = ContinuousClock()
        var produced = [ContinuousClock.Instant](repeating: clock.now, count: records.count)
        var deliveries: [Delivery] = []
        let began = clock.now
        var sent = 0
        while sent < records.count {
            try checkRunning()
            let due = min(records.count, Int((clock.now - began).seconds * rate) + 1)
            guard due > sent else {
                try await Task.sleep(for: .microseconds(500))
                continue
            }
            var batch = ProducerBatch(reservingCapacity: due - sent)
            for record in records[sent..<due] { append(record, to: &batch) }
            let handed = clock.now
            deliveries.append(await producer.enqueue(batch))
            for index in sent..<due { produced[index] = handed }
            sent = due
        }
        try await acknowledged(deliveries)
        return (produced, began)
    }

    func measure(
        rate: Double,
        seconds: Double,
        customers: Int,
        flood: Int,
        seed: UInt64
    ) async throws -> PipelineResult {
        var result = PipelineResult()
        let clock = ContinuousClock()

        // 1. The history (catalog, profiles, bills), unpaced; every service consumes it.
        status("seeding the history of \(customers) customers…")
        var seeding = TrafficGenerator(seed: seed, start: Date(), customers: customers, rate: rate, invalidShare: 0)
        var history: [SimulatedRecord] = []
        while true {
            let record = seeding.next()
            guard record.isHistory else { break }
            history.append(record)
        }
        let seeded = clock.now
        try await produceAll(history[...])
        _ = try await waitUntilCaughtUp(timeout: .seconds(300))
        result.historyRecords = history.count
        result.historySeconds = (clock.now - seeded).seconds
        history = []

        // A second of live traffic, not measured: the first interactions move the KPI service's
        // event time from nothing to now, and its next tick closes at once every window the history
        // opened (months of leads and suppressions: thousands of minute windows, seconds of work).
        // Then a tick later (ticks are once a second) everything is processed again.
        status("warming up: a second of live traffic…")
        var warmup = TrafficGenerator(seed: seed, start: Date(), customers: customers, rate: rate, invalidShare: 0)
        var warmupRecords: [SimulatedRecord] = []
        while warmupRecords.count < max(100, Int(rate)) {
            let record = warmup.next()
            if !record.isHistory { warmupRecords.append(record) }
        }
        _ = try await pace(warmupRecords, rate: rate)
        _ = try await waitUntilCaughtUp(timeout: .seconds(300))
        try await Task.sleep(for: .milliseconds(1_500))
        _ = try await waitUntilCaughtUp(timeout: .seconds(300))

        // 2. Latency: live traffic paced at `rate`, event time ≈ wall time. The same seed gives the
        // same customers; a generator starting now (its history, the same customers', is skipped).
        let count = max(1, Int((rate * seconds).rounded()))
        let start = Date().addingTimeInterval(2)
        var generator = TrafficGenerator(seed: seed, start: start, customers: customers, rate: rate, invalidShare: 0)
        var first = generator.next()
        while first.isHistory { first = generator.next() }
        var live = [first]
        live.reserveCapacity(count)
        while live.count < count { live.append(generator.next()) }
        var rawIndex: [String: Int] = [:]
        var windowOf = [Int64](repeating: -1, count: count)
        for (index, record) in live.enumerated() {
            guard let (id, window) = Self.minuteWindow(of: record) else { continue }
            rawIndex[id] = index
            windowOf[index] = window
        }
        // The warm-up's interactions, all counted by now, come first in their windows.
        var counted: [Int64: Int] = [:]
        for record in warmupRecords {
            if let (_, window) = Self.minuteWindow(of: record) { counted[window, default: 0] += 1 }
        }
        result.liveRecords = count
        result.rawRecords = rawIndex.count
        status("latency: \(count) live records at \(Int(rate))/s for \(seconds) s…")
        let wait = start.timeIntervalSinceNow
        if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
        result.eventTimeOffsetMs = -start.timeIntervalSinceNow * 1000
        outputs.reset()
        let latencyCPUBefore = suite.services.map { $0.cpuSeconds ?? 0 }
        let (produced, began) = try await pace(live, rate: rate)
        let latencyWall = (clock.now - began).seconds
        // The last record is handed over at (count − 1) / rate: the rate achieved over count − 1 intervals.
        result.achievedRate = Double(max(1, count - 1)) / max(1e-9, (produced[count - 1] - began).seconds)
        for (index, service) in suite.services.enumerated() {
            result.latencyCoresBusy.append(
                (
                    "tandem-\(service.name)",
                    ((service.cpuSeconds ?? 0) - latencyCPUBefore[index]) / max(1e-9, latencyWall)
                )
            )
        }
        _ = try await waitUntilCaughtUp(timeout: .seconds(300))
        // The last snapshots and leads on their way to this process's reader.
        try await Task.sleep(for: .milliseconds(500))
        let (leads, snapshots) = outputs.take()
        for (trigger, arrival) in leads {
            guard let index = rawIndex[trigger] else { continue }
            result.leadLatencies.append((arrival - produced[index]).milliseconds)
        }
        // KPI: the n-th raw record (in produce order) of a minute window is out once a snapshot of
        // that window counts n interactions.
        var byWindow: [Int64: [Int]] = [:]
        for index in 0..<count where windowOf[index] >= 0 { byWindow[windowOf[index], default: []].append(index) }
        var arrivals: [Int64: [(count: Int64, at: ContinuousClock.Instant)]] = [:]
        for snapshot in snapshots { arrivals[snapshot.window, default: []].append((snapshot.count, snapshot.at)) }
        for (window, indices) in byWindow {
            let before = Int64(counted[window] ?? 0)
            var matched = 0
            var reached: Int64 = 0
            for arrival in (arrivals[window] ?? []).sorted(by: { $0.at < $1.at }) {
                reached = max(reached, arrival.count)
                while matched < indices.count, before + Int64(matched + 1) <= reached {
                    result.kpiLatencies.append((arrival.at - produced[indices[matched]]).milliseconds)
                    matched += 1
                }
            }
            result.kpiUnmatched += indices.count - matched
        }
        live = []

        // 3. Capacity: a flood of live records as fast as possible, until every group has processed it.
        guard flood > 0 else { return result }
        status("capacity: \(flood) live records as fast as possible…")
        var records: [SimulatedRecord] = []
        records.reserveCapacity(flood)
        for _ in 0..<flood { records.append(generator.next()) }
        let processes = suite.services
        let topicsBefore = try await progress.writtenPerTopic()
        let cpuBefore = processes.map { $0.cpuSeconds ?? 0 }
        let selfBefore = processCPUSeconds()
        let floodStart = clock.now
        try await produceAll(records[...])
        result.produceSeconds = (clock.now - floodStart).seconds
        let (done, groupsDone) = try await waitUntilCaughtUp(timeout: .seconds(600))
        for group in GroupProgress.groups {
            result.groupSeconds.append((group, ((groupsDone[group] ?? done) - floodStart).seconds))
        }
        let selfAfter = processCPUSeconds()
        for (topic, written) in try await progress.writtenPerTopic() {
            result.floodTopicRecords[topic] = written - (topicsBefore[topic] ?? 0)
        }
        result.floodRecords = flood
        result.floodSeconds = (done - floodStart).seconds
        for (index, service) in processes.enumerated() {
            result.cpuSeconds.append(("tandem-\(service.name)", (service.cpuSeconds ?? 0) - cpuBefore[index]))
        }
        result.cpuSeconds.append(("broker + producer (this process)", selfAfter - selfBefore))
        return result
    }
}

extension Duration {
    fileprivate var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

/// Whether every service group has processed everything: its committed offsets equal the high
/// watermarks of all its input partitions.
final class GroupProgress: Sendable {
    /// The services whose groups are watched, and the groups' names.
    static let services = EmbeddedSuite.serviceNames
    static let groups = services.map { "tandem-\($0)" }

    /// One consumer per group, never subscribed: it only reads the group's committed offsets.
    private let readers: [KafkaConsumer]
    private let partitions: Int32

    init(bootstrap: String, partitions: Int, logger: Logger) throws {
        self.partitions = Int32(partitions)
        readers = try Self.services.map { service in
            try KafkaConsumer(
                configuration: ["bootstrap.servers": bootstrap, "group.id": "tandem-\(service)"],
                logger: logger
            )
        }
    }

    /// A partition a group has not processed to its end.
    struct Behind: CustomStringConvertible {
        var group: String
        var progress: PartitionProgress
        var description: String { "\(group) \(progress)" }
    }

    /// The partitions whose group's committed offset is below the high watermark.
    func behind() async throws -> [Behind] {
        let wanted = Self.services.map { service in
            Topics.inputs[service]!.flatMap { spec in
                (0..<partitions).map { TopicPartition(topic: spec.name, partition: $0) }
            }
        }
        // One request for every input partition's end: polled every 50 ms, a round trip per
        // partition would itself load the broker the services share the cores with.
        let high = try await readers[0].highWatermarks(Array(Set(wanted.joined())))
        var behind: [Behind] = []
        for (index, service) in Self.services.enumerated() {
            for progress in try await readers[index].uncommitted(wanted[index], ends: high) {
                behind.append(Behind(group: "tandem-\(service)", progress: progress))
            }
        }
        return behind
    }

    /// Records on each of the suite's topics so far (the sum of its partitions' high watermarks).
    func writtenPerTopic() async throws -> [String: Int64] {
        let ends = try await readers[0].highWatermarks(
            Topics.all.flatMap { spec in (0..<partitions).map { TopicPartition(topic: spec.name, partition: $0) } }
        )
        return ends.reduce(into: [:]) { $0[$1.key.topic, default: 0] += $1.value }
    }

    func close() async {
        for reader in readers { await reader.close() }
    }
}

/// Reads cs.leads and cs.kpi from the beginning, without a group, and notes when each lead and
/// each overall minute snapshot arrives.
final class OutputWatch: @unchecked Sendable {
    struct Snapshot {
        var window: Int64
        var count: Int64
        var at: ContinuousClock.Instant
    }

    private let consumer: KafkaConsumer
    private let lock = NSLock()
    private var leads: [(trigger: String, at: ContinuousClock.Instant)] = []
    private var snapshots: [Snapshot] = []
    private var task: Task<Void, Never>?

    init(bootstrap: String, partitions: Int, logger: Logger) throws {
        consumer = try KafkaConsumer(
            configuration: ["bootstrap.servers": bootstrap, "fetch.wait.max.ms": "5"],
            logger: logger
        )
        try consumer.assign(
            [Topics.leads, Topics.kpi].flatMap { spec in
                (0..<Int32(partitions)).map {
                    TopicPartitionOffset(topic: spec.name, partition: $0, offset: .beginning)
                }
            }
        )
        let consumer = self.consumer
        let leadsTopic = Topics.leads.name
        let suffix = Array("/overall/all".utf8)
        let prefix = Array("minute/".utf8)
        task = Task { [weak self] in
            for await record in consumer.records {
                let at = ContinuousClock.now
                guard let self, let value = record.value else { continue }
                if record.topic == leadsTopic {
                    guard let lead = try? TandemJSON.decode(Lead.self, from: value) else { continue }
                    self.lock.withLock { self.leads.append((lead.triggerEventId, at)) }
                    continue
                }
                guard let key = record.key, key.starts(with: prefix), key.suffix(suffix.count).elementsEqual(suffix),
                    let snapshot = try? TandemJSON.decode(KPISnapshot.self, from: value)
                else { continue }
                let counters = snapshot.counts.counters
                // Every interaction adds one to exactly one of its kind's counters.
                let interactions =
                    counters[.inquiry] + counters[.request] + counters[.complaint] + counters[.followUp]
                    + counters[.outbound] + counters[.survey] + counters[.opinion]
                let window = Int64((snapshot.start.timeIntervalSince1970 * 1000).rounded())
                self.lock.withLock { self.snapshots.append(Snapshot(window: window, count: interactions, at: at)) }
            }
        }
    }

    /// Forgets what arrived so far.
    func reset() {
        lock.withLock {
            leads.removeAll()
            snapshots.removeAll()
        }
    }

    /// What arrived since the last reset.
    func take() -> ([(trigger: String, at: ContinuousClock.Instant)], [Snapshot]) {
        lock.withLock { (leads, snapshots) }
    }

    func close() async {
        await consumer.close()
        await task?.value
    }
}

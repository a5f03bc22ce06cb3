import ArgumentParser
import CKafkaCeiling
import Foundation
import Intake
import Kafka
import Logging
import Models
import ServiceKit

/// `tandem bench intake`: realistic raw records through the real intake service on the embedded broker.
struct IntakeBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intake",
        abstract: "Intake throughput and latency raw-in → clean-out, against the bare passthrough of the same records.",
        discussion: """
            Each round, on an embedded broker of its own, fills cs.interactions.raw with realistic ~400-byte
            records (every channel and its aliases, Chinese text with phone numbers and e-mail addresses to mask,
            2 % adapter retries, 1 % invalid), then:
            passthrough — the wrapper alone copies them consume → produce (as in `bench kafka`);
            intake — IntakeProcessor in its ProcessingLoop (decode, validate, normalise, mask, dedup store and its
            changelog, produce, acknowledgements, commits), timed from its first record to the last batch
            acknowledged; median of the rounds. Then, with the last round's service still running, latency:
            records sent at a steady --latency-rate for --latency-seconds, each timed from its send to its
            arrival on cs.interactions. Also measures the dedup store's memory per remembered event id.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Records per second during the latency measurement.")
    var latencyRate: Int = 20_000

    @Option(help: "Seconds of steady traffic for the latency measurement.")
    var latencySeconds: Int = 5

    @Option(
        help: """
            The service consumer's fetch.wait.max.ms. The embedded broker holds every empty fetch this long \
            (a real broker answers as soon as data arrives), so librdkafka's default of 500 would be the latency.
            """
    )
    var fetchWaitMilliseconds: Int = 10

    @Option(help: "Processing threads of the service (TANDEM_THREADS; intake's default: one per core).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Event ids for the dedup memory measurement.")
    var dedupIds: Int = 1_000_000

    func run() async throws {
        var logger = Logger(label: "tandem.bench")
        logger.logLevel = .error
        let (records, partitions, repeats) = (options.records, options.partitions, options.repeats)
        var bare: [Double] = []
        var intake: [Double] = []
        var latencies: [Double] = []
        var cores: [Double] = []
        var expected = (published: 0, duplicates: 0, deadLetters: 0)
        // Each round on a broker of its own: the mock keeps every record of earlier rounds in
        // memory (it cannot delete a topic), so later rounds ran over a larger heap than the first;
        // a fresh broker starts every round, and both measurements in it, alike. A round's broker
        // is shut down once the round has returned, with every client it made let go of.
        for round in 1...repeats {
            let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
            defer { cluster.shutdown() }
            let measured = try await measureRound(round, on: cluster, logger: logger)
            intake.append(measured.intake)
            cores.append(measured.cores)
            bare.append(measured.bare)
            expected = measured.expected
            if let measuredLatencies = measured.latencies { latencies = measuredLatencies }
        }
        progress("dedup memory…")
        let (bytesPerId, processorPerSecond) = try dedupBytesPerId(count: dedupIds)
        progress("")

        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        let ratio = median(intake) / median(bare)
        print(
            "tandem bench intake: \(records) records (~\(options.valueSize) B, \(expected.published) published, \(expected.duplicates) duplicates, \(expected.deadLetters) dead letters), \(partitions) partitions, median of \(repeats)"
        )
        print(
            "throughput  intake \(format(median(intake))) rec/s, bare passthrough \(format(median(bare))) rec/s, ratio \(String(format: "%.0f%%", ratio * 100))"
        )
        print(
            "cpu         \(String(format: "%.2f", median(cores))) cores busy while intake ran (the process: service, broker, producer)"
        )
        print(
            "latency     raw-in → clean-out at \(latencyRate) rec/s for \(latencySeconds) s: p50 \(String(format: "%.1f", percentile(0.5))) ms, p99 \(String(format: "%.1f", percentile(0.99))) ms (\(latencies.count) records)"
        )
        print("dedup       \(String(format: "%.0f", bytesPerId)) bytes per remembered event id (\(dedupIds) ids)")
        print(
            "processor   \(format(processorPerSecond)) rec/s per CPU-second of one thread, without Kafka (IntakeProcessor.process + changelog encoding)"
        )
        if options.json {
            let summary: [String: Double] = [
                "recordsPerSecond": median(intake).rounded(),
                "passthroughRecordsPerSecond": median(bare).rounded(),
                "ratio": (ratio * 1000).rounded() / 1000,
                "p50Ms": (percentile(0.5) * 10).rounded() / 10,
                "p99Ms": (percentile(0.99) * 10).rounded() / 10,
                "dedupBytesPerId": bytesPerId.rounded(),
                "processorPerSecond": processorPerSecond.rounded(),
            ]
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// What one round measured.
    private struct Round {
        var intake: Double
        var cores: Double
        var bare: Double
        var expected: (published: Int, duplicates: Int, deadLetters: Int)
        /// Measured in the last round only.
        var latencies: [Double]?
    }

    /// One round on `cluster`: fill, intake, (in the last round) latency, bare passthrough.
    private func measureRound(_ round: Int, on cluster: EmbeddedKafkaCluster, logger: Logger) async throws -> Round {
        let (records, partitions, repeats) = (options.records, options.partitions, options.repeats)
        let bench = KafkaBench(cluster: cluster, options: options, logger: logger)
        let prefix = "bench\(round)."
        let configuration = ServiceConfiguration(
            service: "intake",
            brokers: cluster.bootstrapServers,
            kafkaProperties: ["fetch.wait.max.ms": String(fetchWaitMilliseconds)],
            topicPrefix: prefix,
            groupID: "bench-intake-\(round)",
            maxBatch: IntakeProcessor.defaultMaxBatch
        )
        for spec in [Topics.interactionsRaw, Topics.interactions, Topics.deadLetter] {
            try cluster.createTopic(configuration.topic(spec), partitions: partitions)
        }
        try cluster.createTopic(
            configuration.topic(Topics.intakeDedupChangelog),
            partitions: partitions
        )
        try cluster.createTopic("\(prefix)passthrough", partitions: partitions)
        let raw = configuration.topic(Topics.interactionsRaw)

        let loop = try ProcessingLoop(
            configuration: configuration,
            processors: (0..<threads).map { _ in IntakeProcessor(configuration: configuration, rules: .defaults) },
            deadLetterTopic: configuration.topic(Topics.deadLetter),
            logger: logger
        )
        // The records are all there before the service starts: the figure is its own pace.
        progress("[\(round)/\(repeats)] filling \(raw)…")
        let expected = try await fill(cluster: cluster, topic: raw, round: round, logger: logger)
        let running = Task { try await loop.run() }
        let measuring = Task { try await Self.throughput(loop, records: records) }
        progress("[\(round)/\(repeats)] intake…")
        let measured = try await measuring.value
        let published = loop.processors.reduce(0) { $0 + $1.published }
        let duplicates = loop.processors.reduce(0) { $0 + $1.duplicates }
        let deadLetters = loop.counts.deadLetters.values.reduce(0, +)
        guard published == expected.published, duplicates == expected.duplicates,
            deadLetters == expected.deadLetters
        else {
            loop.stop()
            try? await running.value
            throw BenchFailure(
                "intake accounted wrongly: published \(published)/\(expected.published), duplicates \(duplicates)/\(expected.duplicates), dead letters \(deadLetters)/\(expected.deadLetters)"
            )
        }
        var latencies: [Double]?
        if round == repeats {
            progress("[\(round)/\(repeats)] latency at \(latencyRate) rec/s…")
            latencies = try await latency(cluster: cluster, configuration: configuration, logger: logger)
        }
        loop.stop()
        try await running.value
        progress("[\(round)/\(repeats)] bare passthrough of the same records…")
        let bare = try await bench.swiftPassthrough(from: raw, to: "\(prefix)passthrough")
        progress(
            "[\(round)/\(repeats)] bare \(format(bare)) rec/s, intake \(format(measured.recordsPerSecond)) rec/s\n"
        )
        return Round(
            intake: measured.recordsPerSecond,
            cores: measured.cores,
            bare: bare,
            expected: expected,
            latencies: latencies
        )
    }

    /// Fills the raw topic; returns what intake must make of it.
    private func fill(
        cluster: EmbeddedKafkaCluster,
        topic: String,
        round: Int,
        logger: Logger
    ) async throws -> (published: Int, duplicates: Int, deadLetters: Int) {
        let producer = try KafkaProducer(configuration: ["bootstrap.servers": cluster.bootstrapServers], logger: logger)
        var generator = RawInteractionSamples(seed: UInt64(round), now: Date())
        var expected = (published: 0, duplicates: 0, deadLetters: 0)
        var delivered = 0
        var batch = ProducerBatch(reservingCapacity: 5000, bytes: 5000 * 450)
        for index in 0..<options.records {
            let sample = generator.next(index: index)
            switch sample.kind {
            case .valid: expected.published += 1
            case .duplicate: expected.duplicates += 1
            case .invalid: expected.deadLetters += 1
            }
            batch.append(topic: topic, key: sample.key, value: sample.value)
            if batch.count == 5000 || index == options.records - 1 {
                let reports = try await producer.send(batch)
                guard reports.allDelivered else {
                    throw BenchFailure("fill: \(reports.firstError.map(String.init(describing:)) ?? "")")
                }
                delivered += batch.count
                batch.removeAll()
            }
        }
        await producer.close()
        return expected
    }

    /// Records per second from the loop's first completed batch to the moment every record's batch
    /// is acknowledged, and the process's CPU use meanwhile (in cores).
    private static func throughput(
        _ loop: ProcessingLoop<IntakeProcessor>,
        records: Int
    ) async throws -> (recordsPerSecond: Double, cores: Double) {
        let measured = try await LoopThroughput.measure(
            loop,
            total: records,
            timeout: .seconds(300)
        )
        guard loop.counts.recordsIn >= records, measured.seconds > 0 else {
            throw BenchFailure("intake: \(loop.counts.recordsIn) of \(records) records processed")
        }
        return (measured.perSecond, measured.cpuSeconds / measured.seconds)
    }

    /// Sends records at a steady rate into the running service and times each to its arrival on the output.
    private func latency(
        cluster: EmbeddedKafkaCluster,
        configuration: ServiceConfiguration,
        logger: Logger
    ) async throws -> [Double] {
        let output = configuration.topic(Topics.interactions)
        let consumer = try KafkaConsumer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "fetch.wait.max.ms": "1"],
            logger: logger
        )
        var starts: [TopicPartitionOffset] = []
        for partition in 0..<Int32(options.partitions) {
            let high = try await consumer.queryWatermarks(topic: output, partition: partition).high
            starts.append(
                TopicPartitionOffset(topic: output, partition: partition, offset: KafkaOffset(rawValue: high))
            )
        }
        try consumer.assign(starts)
        let total = latencyRate * latencySeconds
        let sent = SendTimes(count: total)
        let producer = try KafkaProducer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "1"],
            logger: logger
        )
        let (rate, raw) = (latencyRate, configuration.topic(Topics.interactionsRaw))
        let sending = Task {
            var generator = RawInteractionSamples(seed: 99, now: Date())
            let start = ContinuousClock.now
            let tick = Duration.milliseconds(5)
            let perTick = max(1, rate / 200)
            var next = 0
            var deliveries: [Delivery] = []
            while next < total {
                var batch = ProducerBatch(reservingCapacity: perTick)
                let end = min(total, next + perTick)
                let now = ContinuousClock.now
                for index in next..<end {
                    let sample = generator.valid(eventId: "lat-\(index)", index: index)
                    sent.set(index, now)
                    batch.append(topic: raw, key: sample.key, value: sample.value)
                }
                deliveries.append(await producer.enqueue(batch))
                next = end
                let due = start + tick * (next / perTick)
                if due > .now { try await Task.sleep(until: due, clock: .continuous) }
            }
            for delivery in deliveries { _ = await delivery.reports() }
        }
        var latencies: [Double] = []
        latencies.reserveCapacity(total)
        let deadline = ContinuousClock.now + .seconds(Int64(latencySeconds) + 60)
        for await event in consumer.events {
            guard case .records(let batch) = event else {
                if ContinuousClock.now > deadline { break }
                continue
            }
            let now = ContinuousClock.now
            for record in batch {
                guard let index = record.withUnsafeValue({ $0.flatMap(Self.latencyIndex) }), index < total else {
                    continue
                }
                latencies.append((now - sent.get(index)).seconds * 1000)
            }
            if latencies.count >= total || ContinuousClock.now > deadline { break }
        }
        try await sending.value
        await producer.close()
        await consumer.close()
        guard latencies.count >= total else { throw BenchFailure("latency: \(latencies.count) of \(total) arrived") }
        return latencies
    }

    /// The n of `"eventId":"lat-n"` in an output record.
    static func latencyIndex(_ value: UnsafeRawBufferPointer) -> Int? {
        let needle = Array(#""eventId":"lat-"#.utf8)
        guard value.count > needle.count else { return nil }
        var position = 0
        search: while position + needle.count <= value.count {
            for offset in 0..<needle.count where value[position + offset] != needle[offset] {
                position += 1
                continue search
            }
            var number = 0
            var cursor = position + needle.count
            while cursor < value.count, value[cursor] >= 0x30, value[cursor] <= 0x39 {
                number = number * 10 + Int(value[cursor] - 0x30)
                cursor += 1
            }
            return number
        }
        return nil
    }

    /// The dedup store's memory per remembered event id: `count` distinct valid records through
    /// ``IntakeProcessor/process(_:into:)`` (table slot with event time and offset, the id bytes — everything
    /// intake keeps per id; the pending changelog is flushed), heap growth (glibc mallinfo2) / ids.
    private func dedupBytesPerId(count: Int) throws -> (bytesPerId: Double, processorPerSecond: Double) {
        let configuration = ServiceConfiguration(service: "intake")
        let processor = IntakeProcessor(configuration: configuration, rules: .defaults)
        var generator = RawInteractionSamples(seed: 7, now: Date())
        var output = ProcessorOutput()
        let topic = configuration.topic(Topics.interactionsRaw)
        let samples = (0..<count).map { generator.valid(eventId: "wx-20261125-\(100_000_000 + $0)", index: $0) }
        let before = heapInUse()
        // This thread's CPU time, not the wall clock: on a shared machine other processes' load
        // does not count against the processor (the loop below never suspends).
        let started = threadCPUSeconds()
        for (index, sample) in samples.enumerated() {
            try sample.value.withUnsafeBytes { value in
                // Runs of 128 records of one partition, as a shard gets them from a consumer batch.
                let record = InputRecord(
                    topic: topic,
                    partition: Int32(index / 128 % 64),
                    offset: Int64(index / (128 * 64) * 128 + index % 128),
                    timestamp: nil,
                    key: nil,
                    value: value
                )
                try processor.process(record, into: &output)
            }
            if index % 4096 == 4095 {
                output = ProcessorOutput()
                var changes = ProducerBatch()
                try processor.dedup.appendChanges(to: &changes)
                processor.dedup.changesFlushed()
            }
        }
        output = ProcessorOutput()
        var changes = ProducerBatch()
        try processor.dedup.appendChanges(to: &changes)
        processor.dedup.changesFlushed()
        changes = ProducerBatch()
        let elapsed = threadCPUSeconds() - started
        let after = heapInUse()
        guard processor.published == count else { throw BenchFailure("dedup: \(processor.published) of \(count) kept") }
        withExtendedLifetime((processor, changes, output, samples)) {}
        return (Double(after - before) / Double(count), Double(count) / elapsed)
    }
}

/// Send instants by record index, written by the sender and read by the receiver.
private final class SendTimes: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [ContinuousClock.Instant]
    init(count: Int) { times = Array(repeating: .now, count: count) }
    func set(_ index: Int, _ instant: ContinuousClock.Instant) { lock.withLock { times[index] = instant } }
    func get(_ index: Int) -> ContinuousClock.Instant { lock.withLock { times[index] } }
}

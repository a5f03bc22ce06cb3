import ArgumentParser
import CKafkaCeiling
import Dispatch
import Foundation
import Kafka
import Logging

/// `tandem bench kafka`: the wrapper against plain C librdkafka, same broker, same run.
struct KafkaBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract:
            "Produce-only, consume-only and consume→produce passthrough: the Swift wrapper against a minimal C loop.",
        discussion: """
            Runs on an embedded mock cluster in this process. Each step is repeated and the median
            reported; the C loops (Shared/CKafkaCeiling, -O2) use exactly the same librdkafka
            configuration as the wrapper. Topics have enough partitions that the mock's
            per-partition limit (about 5 MiB) never drops data during a run.
            """
    )

    @OptionGroup var options: BenchOptions

    func run() async throws {
        var logger = Logger(label: "tandem.bench")
        logger.logLevel = .error
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let (records, valueSize, partitions, repeats, json) = (
            options.records, options.valueSize, options.partitions, options.repeats, options.json
        )
        let bench = KafkaBench(cluster: cluster, options: options, logger: logger)

        var samples: [String: [String: [Double]]] = [:]
        for round in 1...repeats {
            let source = "bench.source.\(round)"
            let cSource = "bench.source-c.\(round)"
            let outSwift = "bench.out-tandem.\(round)"
            let outC = "bench.out-c.\(round)"
            for topic in [source, cSource, outSwift, outC] { try cluster.createTopic(topic, partitions: partitions) }

            // Alternate which side goes first, so neither always meets a warmer broker.
            let swiftFirst = round % 2 == 1
            func measure(_ step: String, tandem: () async throws -> Double, c: () async throws -> Double) async throws {
                progress("[\(round)/\(repeats)] \(step)…")
                let (first, second): (Double, Double)
                if swiftFirst {
                    first = try await tandem()
                    second = try await c()
                    samples[step, default: [:]]["tandem", default: []].append(first)
                    samples[step, default: [:]]["c", default: []].append(second)
                } else {
                    first = try await c()
                    second = try await tandem()
                    samples[step, default: [:]]["c", default: []].append(first)
                    samples[step, default: [:]]["tandem", default: []].append(second)
                }
                let tandemRate = samples[step]!["tandem"]!.last!
                let cRate = samples[step]!["c"]!.last!
                progress(
                    "[\(round)/\(repeats)] \(step): tandem \(format(tandemRate)) rec/s, C \(format(cRate)) rec/s\n"
                )
            }
            try await measure(
                "produce",
                tandem: { try await bench.swiftProduce(topic: source) },
                c: { try await bench.cProduce(topic: cSource) }
            )
            try await measure(
                "consume",
                tandem: { try await bench.swiftConsume(topic: source) },
                c: { try await bench.cConsume(topic: source) }
            )
            try await measure(
                "passthrough",
                tandem: { try await bench.swiftPassthrough(from: source, to: outSwift) },
                c: { try await bench.cPassthrough(from: source, to: outC) }
            )
        }

        let megabytes = Double(valueSize) / 1_000_000
        var summary: [String: [String: Double]] = [:]
        print("")
        print("tandem bench kafka: \(records) records × \(valueSize) B, \(partitions) partitions, median of \(repeats)")
        print("step          tandem rec/s      C rec/s   tandem/C   tandem MB/s")
        for step in ["produce", "consume", "passthrough"] {
            let tandem = median(samples[step]!["tandem"]!)
            let c = median(samples[step]!["c"]!)
            let ratio = tandem / c
            summary[step] = ["tandem": tandem.rounded(), "c": c.rounded(), "ratio": (ratio * 1000).rounded() / 1000]
            print(
                step.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + format(tandem).leftPadded(14) + format(c).leftPadded(13)
                    + String(format: "%10.0f%%", ratio * 100) + String(format: "%14.1f", tandem * megabytes)
            )
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

/// What every Kafka benchmark takes: the records of a step, how they are spread, how often it runs.
struct BenchOptions: ParsableArguments {
    @Option(help: "Records per step.")
    var records: Int = 500_000

    @Option(help: "Value size in bytes.")
    var valueSize: Int = 400

    @Option(help: "Partitions per topic.")
    var partitions: Int = 64

    @Option(help: "Repetitions of each step (the median is reported).")
    var repeats: Int = 3

    @Flag(help: "Print one JSON object as the last line.")
    var json = false

    func validate() throws {
        guard records > 0, valueSize > 0, partitions > 0, repeats > 0 else {
            throw ValidationError("--records, --value-size, --partitions and --repeats must be positive")
        }
        // The mock keeps about 5 MiB per partition and drops older data beyond it.
        let perPartition = records * (valueSize + 40) / partitions
        guard perPartition < 4 * 1024 * 1024 else {
            throw ValidationError(
                "\(perPartition) bytes per partition would overflow the mock's 5 MiB limit: raise --partitions"
            )
        }
    }
}

/// The three workloads, on the wrapper and on the C ceiling.
struct KafkaBench: Sendable {
    let cluster: EmbeddedKafkaCluster
    let records: Int
    let valueSize: Int
    let partitions: Int
    let logger: Logger

    /// The steps on `cluster` with the records, value size and partitions of the command line.
    init(cluster: EmbeddedKafkaCluster, options: BenchOptions, logger: Logger) {
        self.cluster = cluster
        records = options.records
        valueSize = options.valueSize
        partitions = options.partitions
        self.logger = logger
    }

    var producerProperties: [String: String] {
        KafkaProducer.defaults.merging(["bootstrap.servers": cluster.bootstrapServers]) { _, new in new }
    }
    var consumerProperties: [String: String] {
        KafkaConsumer.defaults.merging(["bootstrap.servers": cluster.bootstrapServers, "group.id": "tandem-bench"]) {
            _,
            new in new
        }
    }

    func swiftProduce(topic: String) async throws -> Double {
        let producer = try KafkaProducer(configuration: KafkaConfiguration(producerProperties), logger: logger)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: valueSize)
        // The keys are made before the clock starts: formatting strings is not the wrapper's cost
        // (the C loop formats its keys with snprintf into a stack buffer, which costs next to nothing).
        let keys = (0..<min(records, 100_000)).map { Array("key-\($0)".utf8) }
        let chunk = 10_000
        let start = ContinuousClock.now
        let delivered = try await withThrowingTaskGroup(of: Int.self) { group in
            var delivered = 0
            var inFlight = 0
            for first in stride(from: 0, to: records, by: chunk) {
                var batch = ProducerBatch(reservingCapacity: chunk, bytes: chunk * (valueSize + 12))
                for index in first..<min(records, first + chunk) {
                    batch.append(topic: topic, key: keys[index % keys.count], value: value)
                }
                if inFlight == 8, let done = try await group.next() {
                    delivered += done
                    inFlight -= 1
                }
                group.addTask { [batch] in try await producer.send(batch).allDelivered ? batch.count : 0 }
                inFlight += 1
            }
            for try await done in group { delivered += done }
            return delivered
        }
        let seconds = (ContinuousClock.now - start).seconds
        await producer.close()
        guard delivered == records else { throw BenchFailure("produce: \(delivered) of \(records) delivered") }
        return Double(records) / seconds
    }

    func swiftConsume(topic: String) async throws -> Double {
        var start: ContinuousClock.Instant?
        let consumer = try KafkaConsumer(configuration: KafkaConfiguration(consumerProperties), logger: logger)
        try consumer.assign(
            (0..<Int32(partitions)).map { TopicPartitionOffset(topic: topic, partition: $0, offset: .beginning) }
        )
        var count = 0
        var bytes = 0
        for await event in consumer.events {
            guard case .records(let batch) = event else { continue }
            if start == nil { start = .now }  // from the first record: startup is not throughput
            for record in batch { bytes &+= record.valueCount }
            count += batch.count
            if count >= records { break }
        }
        let seconds = (ContinuousClock.now - (start ?? .now)).seconds
        await consumer.close()
        guard count >= records, bytes >= records * valueSize else {
            throw BenchFailure("consume: \(count) of \(records) records")
        }
        return Double(records) / seconds
    }

    func swiftPassthrough(from source: String, to destination: String) async throws -> Double {
        let start = Collected<ContinuousClock.Instant?>(nil)
        let producer = try KafkaProducer(configuration: KafkaConfiguration(producerProperties), logger: logger)
        let consumer = try KafkaConsumer(configuration: KafkaConfiguration(consumerProperties), logger: logger)
        try consumer.assign(
            (0..<Int32(partitions)).map { TopicPartitionOffset(topic: source, partition: $0, offset: .beginning) }
        )
        let delivered = try await withThrowingTaskGroup(of: Int.self) { group in
            var consumed = 0
            var delivered = 0
            var inFlight = 0
            for await event in consumer.events {
                guard case .records(let input) = event else { continue }
                start.setOnce(.now)  // from the first record: startup is not throughput
                var output = ProducerBatch(reservingCapacity: input.count, bytes: input.count * (valueSize + 16))
                for record in input {
                    record.withUnsafeKey { key in
                        record.withUnsafeValue { value in output.append(topic: destination, key: key, value: value) }
                    }
                }
                consumed += input.count
                if inFlight == 8, let done = try await group.next() {
                    delivered += done
                    inFlight -= 1
                }
                group.addTask { [output] in try await producer.send(output).allDelivered ? output.count : 0 }
                inFlight += 1
                if consumed >= records { break }
            }
            for try await done in group { delivered += done }
            return delivered
        }
        let seconds = (ContinuousClock.now - (start.value ?? .now)).seconds
        await consumer.close()
        await producer.close()
        guard delivered >= records else { throw BenchFailure("passthrough: \(delivered) of \(records) delivered") }
        return Double(records) / seconds
    }

    func cProduce(topic: String) async throws -> Double {
        let (records, valueSize, bootstrap, properties) = (
            records, valueSize, cluster.bootstrapServers, producerProperties
        )
        return try await ceiling("produce") {
            withCConf(properties) { conf in
                tandem_ceiling_produce(bootstrap, topic, Int64(records), Int32(valueSize), conf)
            }
        }
    }

    func cConsume(topic: String) async throws -> Double {
        let (records, partitions, bootstrap, properties) = (
            records, partitions, cluster.bootstrapServers, consumerProperties
        )
        return try await ceiling("consume") {
            withCConf(properties) { conf in
                tandem_ceiling_consume(bootstrap, topic, Int32(partitions), Int64(records), conf)
            }
        }
    }

    func cPassthrough(from source: String, to destination: String) async throws -> Double {
        let (records, partitions, bootstrap) = (records, partitions, cluster.bootstrapServers)
        let (consumerProperties, producerProperties) = (consumerProperties, producerProperties)
        return try await ceiling("passthrough") {
            withCConf(consumerProperties) { consumerConf in
                withCConf(producerProperties) { producerConf in
                    tandem_ceiling_passthrough(
                        bootstrap,
                        source,
                        Int32(partitions),
                        destination,
                        Int64(records),
                        consumerConf,
                        producerConf
                    )
                }
            }
        }
    }

    /// Runs a C loop on its own thread (it blocks) and turns its result into records per second.
    private func ceiling(_ step: String, _ body: @escaping @Sendable () -> tandem_ceiling_result) async throws -> Double
    {
        var result = await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
        if result.error != 0 {
            let message = withUnsafeBytes(of: &result.message) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            throw BenchFailure("C \(step): \(message)")
        }
        return Double(result.records) / result.seconds
    }
}

/// Passes configuration to C as parallel name/value arrays, alive for the call.
private func withCConf<R>(_ properties: [String: String], _ body: (tandem_ceiling_conf) -> R) -> R {
    let pairs = properties.sorted { $0.key < $1.key }
    let names = pairs.map { strdup($0.key) }
    let values = pairs.map { strdup($0.value) }
    defer {
        names.forEach { free($0) }
        values.forEach { free($0) }
    }
    let constNames = names.map { UnsafePointer($0) }
    let constValues = values.map { UnsafePointer($0) }
    return constNames.withUnsafeBufferPointer { namePointers in
        constValues.withUnsafeBufferPointer { valuePointers in
            body(
                tandem_ceiling_conf(
                    names: namePointers.baseAddress,
                    values: valuePointers.baseAddress,
                    count: Int32(pairs.count)
                )
            )
        }
    }
}

/// A value set once from inside a task group's parent loop and read after it.
final class Collected<Value: Sendable>: @unchecked Sendable {
    private var stored: Value
    private let lock = NSLock()
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func setOnce<Wrapped>(_ newValue: Wrapped) where Value == Wrapped? {
        lock.withLock { if stored == nil { stored = newValue } }
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func format(_ rate: Double) -> String {
    rate >= 1_000_000 ? String(format: "%.2f M", rate / 1_000_000) : String(format: "%.0f k", rate / 1000)
}

/// A progress line on standard error (the standard output stays clean for --json).
func progress(_ text: String) {
    FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

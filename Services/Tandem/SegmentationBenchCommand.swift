import ArgumentParser
import CKafkaCeiling
import Foundation
import Kafka
import Logging
import Models
import Segmentation
import ServiceKit

#if canImport(Glibc)
    import Glibc
#endif

/// `tandem bench segmentation`: events per second through the real segmentation service, and the
/// memory its state takes per customer.
struct SegmentationBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segmentation",
        abstract: "Events per second through the segmentation processing loop, and state bytes per customer.",
        discussion: """
            throughput: a realistic mix (per customer a profile, 3 bills and 6 contacts, some complaints and
            churn signals) is produced to cs.accounts and cs.interactions on the embedded broker before the
            clock starts; then a ProcessingLoop with the real SegmentationProcessor consumes it (decode,
            segment, publish to cs.segments, changelog, commit). Events per second from its first record to
            its last; median of the repeats.
            memory: --memory-customers customers (profile, 3 bills, 2 contacts each, in time order) go
            through the same processor in process (no broker), spread over the partitions; bytesPerCustomer = growth of the
            malloc heap in use (glibc mallinfo2: every live allocation of the state store, its dictionaries,
            the timer heaps and the processor's maps) ÷ customers, after the changelog's pending changes are
            flushed. The resident-set growth is printed alongside.
            """
    )

    @Option(help: "Customers in the throughput stream (10 events each).")
    var customers = 50_000

    @Option(help: "Partitions per topic.")
    var partitions = 64

    @Option(help: "Repetitions of the throughput step (the median is reported).")
    var repeats = 3

    @Option(help: "Customers held in memory for the state-size measurement.")
    var memoryCustomers = 1_000_000

    @Flag(help: "Print one JSON object as the last line.")
    var json = false

    static let day: Int64 = 86_400_000

    func run() async throws {
        var logger = Logger(label: "tandem.bench")
        logger.logLevel = .error
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let now = Int64(Date().timeIntervalSince1970 * 1000)

        var rates: [Double] = []
        var perCPUSecond: [Double] = []
        var published = 0
        let stream = Self.stream(customers: customers, now: now)
        for round in 1...repeats {
            let prefix = "bench\(round)."
            for topic in [
                "cs.accounts", "cs.interactions", "cs.segments", "cs.segmentation.customers", "cs.deadletter",
            ] {
                try cluster.createTopic(prefix + topic, partitions: partitions)
            }
            progress("[\(round)/\(repeats)] producing \(stream.count) events…")
            let producer = try KafkaProducer(
                configuration: ["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "5"],
                logger: logger
            )
            var batch = ProducerBatch(reservingCapacity: stream.count)
            for event in stream {
                batch.append(topic: prefix + event.topic, key: event.key, value: event.value)
            }
            guard try await producer.send(batch).allDelivered else {
                throw BenchFailure("the stream was not delivered")
            }
            await producer.close()
            progress("[\(round)/\(repeats)] segmenting…")
            let (rate, count, perCPU) = try await throughput(
                cluster: cluster,
                prefix: prefix,
                round: round,
                logger: logger
            )
            rates.append(rate)
            perCPUSecond.append(perCPU)
            published = count
            progress("[\(round)/\(repeats)] \(format(rate)) events/s\n")
        }

        progress("memory: \(memoryCustomers) customers…")
        let memory = Self.memory(customers: memoryCustomers, partitions: partitions, now: now)
        progress("")

        let eventsPerSecond = median(rates)
        print(
            "tandem bench segmentation: \(stream.count) events of \(customers) customers, \(partitions) partitions, median of \(repeats)"
        )
        print(
            "throughput  \(format(eventsPerSecond)) events/s through ProcessingLoop + SegmentationProcessor (\(published) segments published in the last run); \(format(median(perCPUSecond))) events per CPU-second of the whole process (loop, librdkafka, embedded broker)"
        )
        print(
            "state       CustomerProfile \(MemoryLayout<CustomerProfile>.size) B inline (boxed), + bills, complaints, products arrays, the store's hash-table slot and one timer"
        )
        print(
            "memory      \(memoryCustomers) customers: heap \(String(format: "%.0f", memory.heapPerCustomer)) B/customer, resident \(String(format: "%.0f", memory.residentPerCustomer)) B/customer (\(memory.heapBytes / 1_048_576) MiB heap)"
        )
        if json {
            let summary: [String: Double] = [
                "eventsPerSecond": eventsPerSecond.rounded(),
                "bytesPerCustomer": memory.heapPerCustomer.rounded(),
                "residentBytesPerCustomer": memory.residentPerCustomer.rounded(),
                "eventsPerCPUSecond": median(perCPUSecond).rounded(),
            ]
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// Events per second through the loop, from its first record to its last; and segments published.
    private func throughput(
        cluster: EmbeddedKafkaCluster,
        prefix: String,
        round: Int,
        logger: Logger
    ) async throws -> (Double, Int, Double) {
        let configuration = ServiceConfiguration(
            service: "segmentation",
            brokers: cluster.bootstrapServers,
            topicPrefix: prefix,
            groupID: "bench-segmentation-\(round)"
        )
        let processor = SegmentationProcessor(configuration: configuration, rules: .defaults)
        let loop = try ProcessingLoop(
            configuration: configuration,
            processor: processor,
            deadLetterTopic: prefix + "cs.deadletter",
            logger: logger
        )
        let records = customers * Self.eventsPerCustomer
        let running = Task { try await loop.run() }
        let measured = try await LoopThroughput.measure(loop, total: records)
        loop.stop()
        try await running.value
        guard loop.counts.recordsIn >= records, loop.counts.deadLetters.isEmpty else {
            throw BenchFailure("segmentation: \(loop.counts.recordsIn) of \(records) in, \(loop.counts.deadLetters)")
        }
        return (measured.perSecond, processor.published, measured.perCPUSecond)
    }

    static let eventsPerCustomer = 10
    static let regions = ["310000", "440300", "510100", "330100", "520322", "540200", "230100", "622921"]

    /// Per customer: a profile, 3 bills and 6 contacts over the last 60 days, as JSON, in time order.
    static func stream(customers: Int, now: Int64) -> [(topic: String, key: [UInt8], value: [UInt8])] {
        var events: [(topic: String, key: [UInt8], value: [UInt8])] = []
        events.reserveCapacity(customers * eventsPerCustomer)
        let start = now - 60 * day
        for step in 0..<eventsPerCustomer {
            for customer in 0..<customers {
                let at = start + Int64(step) * 6 * day + Int64(customer % 86_400) * 1000
                let (topic, value) = event(step: step, customer: customer, at: at)
                events.append((topic, Array("C-\(customer)".utf8), value))
            }
        }
        return events
    }

    /// One event of the stream: step 0 the profile, 1, 4, 7 bills, the others contacts.
    static func event(step: Int, customer: Int, at: Int64) -> (topic: String, value: [UInt8]) {
        let id = "C-\(customer)"
        let time = Timestamp.date(millisecondsSince1970: at)
        let encoded: [UInt8]
        let topic: String
        switch step {
        case 0:
            topic = "cs.accounts"
            let profile = AccountEvent.Profile(
                customerId: id,
                at: time,
                region: regions[customer % regions.count],
                joinedAt: Timestamp.date(millisecondsSince1970: at - Int64(customer % 4000) * day),
                creditScore: Double(40 + customer % 60),
                influence: Double(customer % 100),
                points: customer % 12_000,
                marketingConsent: true,
                planId: "P-\(customer % 7)"
            )
            encoded = try! TandemJSON.encode(AccountEvent.profile(profile))
        case 1, 4, 7:
            topic = "cs.accounts"
            let bill = AccountEvent.Bill(
                customerId: id,
                at: time,
                period: "2026-0\(step / 3 + 1)",
                amount: Double(30 + (customer * 7 + step * 13) % 400) + 0.5,
                usage: ["voiceMinutes": 320, "dataMB": 20_480]
            )
            encoded = try! TandemJSON.encode(AccountEvent.bill(bill))
        default:
            topic = "cs.interactions"
            var interaction = Interaction(
                eventId: "e-\(customer)-\(step)",
                occurredAt: time,
                receivedAt: time,
                channel: step % 2 == 0 ? .phone : .wechat,
                kind: (customer + step) % 13 == 0 ? .complaint : .inquiry,
                customerId: id,
                topic: "billing"
            )
            interaction.answered = true
            interaction.waitSeconds = 12
            interaction.handleSeconds = 240
            interaction.resolved = true
            if (customer + step) % 17 == 0 { interaction.signals = ["competitor_mention"] }
            if (customer + step) % 101 == 0 { interaction.signals = ["churn_threat"] }
            encoded = try! TandemJSON.encode(interaction)
        }
        return (topic, encoded)
    }

    struct Memory {
        var heapBytes: Int
        var heapPerCustomer: Double
        var residentPerCustomer: Double
    }

    /// Heap and resident growth of a processor holding `customers` customers.
    static func memory(customers: Int, partitions: Int, now: Int64) -> Memory {
        let processor = SegmentationProcessor(
            configuration: ServiceConfiguration(service: "segmentation"),
            rules: .defaults
        )
        let heapBefore = heapInUse()
        let residentBefore = residentBytes()
        var offsets = [Int64](repeating: 0, count: partitions)
        // In time order, as a stream arrives: every customer's profile, then every customer's
        // first bill, and so on.
        let steps = [0, 1, 2, 4, 5, 7]  // profile, bill, contact, bill, contact, bill
        for step in steps {
            for customer in 0..<customers {
                let partition = customer % partitions
                let at = now - 60 * day + Int64(step) * 6 * day + Int64(customer % 86_400) * 1000
                let (topic, value) = event(step: step, customer: customer, at: at)
                let key = Array("C-\(customer)".utf8)
                var output = ProcessorOutput()
                key.withUnsafeBytes { key in
                    value.withUnsafeBytes { value in
                        try? processor.process(
                            InputRecord(
                                topic: topic,
                                partition: Int32(partition),
                                offset: offsets[partition],
                                timestamp: nil,
                                key: key,
                                value: value
                            ),
                            into: &output
                        )
                    }
                }
                offsets[partition] += 1
                // What the loop does after each batch's changelog write.
                if customer % 4096 == 4095 { processor.customers.changesFlushed() }
            }
        }
        processor.customers.changesFlushed()
        let heap = heapInUse() - heapBefore
        let resident = residentBytes() - residentBefore
        // Keep the processor alive until after the measurement.
        withExtendedLifetime(processor) {}
        return Memory(
            heapBytes: heap,
            heapPerCustomer: Double(heap) / Double(customers),
            residentPerCustomer: Double(resident) / Double(customers)
        )
    }
}

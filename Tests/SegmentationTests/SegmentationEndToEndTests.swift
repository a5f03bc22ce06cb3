import Foundation
import Kafka
import Logging
import Models
import Segmentation
import ServiceKit
import Synchronization
import TestSupport
import Testing

/// SPEC §3 on the embedded broker: the real ``ProcessingLoop`` with a ``SegmentationProcessor``.
@Suite("segmentation on the embedded broker", .serialized, .timeLimit(.minutes(3)))
struct SegmentationEndToEndTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let topics = ["cs.accounts", "cs.interactions", "cs.segments", "cs.segmentation.customers", "cs.deadletter"]

    /// A cluster with the segmentation topics, a loop running the processor, and a way to stop both.
    final class Running: @unchecked Sendable {
        let cluster: EmbeddedKafkaCluster
        let processor: SegmentationProcessor
        let loop: ProcessingLoop<SegmentationProcessor>
        let task: Task<Void, any Error>
        /// Added to the wall clock the processor sees (ms): lets days of quiet pass in a moment.
        let wallSkew = Skew()

        init(partitions: Int32) throws {
            cluster = try EmbeddedKafkaCluster(brokers: 1, logger: quiet)
            for topic in topics { try cluster.createTopic(topic, partitions: Int(partitions)) }
            let configuration = ServiceConfiguration(
                service: "segmentation",
                brokers: cluster.bootstrapServers,
                kafkaProperties: ["fetch.wait.max.ms": "10"],
                groupID: "segmentation-\(UUID().uuidString.prefix(6))"
            )
            processor = SegmentationProcessor(configuration: configuration, rules: .defaults)
            let skew = wallSkew
            processor.wallClock = { $0 + skew.milliseconds.load(ordering: .relaxed) }
            loop = try ProcessingLoop(
                configuration: configuration,
                processor: processor,
                deadLetterTopic: "cs.deadletter",
                logger: quiet
            )
            let loop = loop
            task = Task { try await loop.run() }
        }

        func send(_ records: [(topic: String, key: String, value: [UInt8])]) async throws {
            let producer = try KafkaProducer(
                configuration: ["bootstrap.servers": cluster.bootstrapServers],
                logger: quiet
            )
            var batch = ProducerBatch()
            for record in records {
                batch.append(topic: record.topic, key: Array(record.key.utf8), value: record.value)
            }
            #expect(try await producer.send(batch).allDelivered)
            await producer.close()
        }

        func waitForInput(_ count: Int) async throws {
            try await waitUntil("\(count) records processed") { loop.counts.recordsIn >= count }
        }

        func stop() async throws {
            loop.stop()
            try await task.value
            cluster.shutdown()
        }
    }

    static func account(_ event: AccountEvent) -> (topic: String, key: String, value: [UInt8]) {
        ("cs.accounts", event.customerId, try! TandemJSON.encode(event))
    }

    static func contact(_ customer: String, at: Int64) -> (topic: String, key: String, value: [UInt8]) {
        let interaction = Interaction(
            eventId: "e-\(customer)-\(at)",
            occurredAt: date(at),
            receivedAt: date(at),
            channel: .phone,
            kind: .inquiry,
            customerId: customer
        )
        return ("cs.interactions", customer, try! TandemJSON.encode(interaction))
    }

    /// Reads every segment on the topic (partitions 0..<partitions) until five quiet seconds.
    static func segments(_ cluster: EmbeddedKafkaCluster, partitions: Int32) async throws -> [CustomerSegment] {
        let consumer = try KafkaConsumer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "fetch.wait.max.ms": "10"],
            idleEventInterval: .seconds(3),
            logger: quiet
        )
        try consumer.assign(
            (0..<partitions).map { TopicPartitionOffset(topic: "cs.segments", partition: $0, offset: .beginning) }
        )
        var segments: [CustomerSegment] = []
        eventLoop: for await event in consumer.events {
            switch event {
            case .records(let batch):
                for record in batch.map(\.record) {
                    segments.append(try TandemJSON.decode(CustomerSegment.self, from: record.value ?? []))
                }
            case .idle: break eventLoop
            default: continue
            }
        }
        await consumer.close()
        return segments
    }

    /// 60 customers, half in Shanghai (tier1), half in Shigatse (rural): a profile, three bills, a
    /// call, then the last bill again. The numbers are ValueTests' hand-computed ones: 52.9 mid in
    /// Shanghai, 72.9 high in Shigatse.
    @Test func accountAndInteractionEventsYieldExactlyTheExpectedSegments() async throws {
        let running = try Running(partitions: 4)
        let base = Int64(Date().timeIntervalSince1970 * 1000) - 20 * day
        var records: [(topic: String, key: String, value: [UInt8])] = []
        let customers = (0..<60).map { "C-\($0)" }
        for (index, customer) in customers.enumerated() {
            let region = index % 2 == 0 ? "310000" : "540200"
            records.append(
                Self.account(
                    .profile(
                        .init(
                            customerId: customer,
                            at: date(base),
                            region: region,
                            joinedAt: date(base - 5 * 365 * day - 10 * day),
                            creditScore: 80,
                            influence: 40
                        )
                    )
                )
            )
            for (offset, (period, amount)) in [("2026-08", 150.0), ("2026-09", 180.0), ("2026-10", 217.2)].enumerated()
            {
                let at = base + Int64(offset + 1) * day
                records.append(
                    Self.account(.bill(.init(customerId: customer, at: date(at), period: period, amount: amount)))
                )
            }
            records.append(Self.contact(customer, at: base + 4 * day))
            // An adapter's retry: the same bill again changes nothing.
            let at = base + 3 * day
            records.append(
                Self.account(.bill(.init(customerId: customer, at: date(at), period: "2026-10", amount: 217.2)))
            )
        }
        try await running.send(records)
        try await running.waitForInput(records.count)
        let segments = try await Self.segments(running.cluster, partitions: 4)
        try await running.stop()

        let byCustomer = Dictionary(grouping: segments, by: \.customerId)
        #expect(Set(byCustomer.keys) == Set(customers))
        for (index, customer) in customers.enumerated() {
            let mine = byCustomer[customer] ?? []
            // Profile, then each of the three bills changes ARPU: versions 1–4, nothing more.
            #expect(mine.map(\.version) == [1, 2, 3, 4], "\(customer)")
            guard let last = mine.last else { continue }
            #expect(last.arpu == 182.40)
            if index % 2 == 0 {
                #expect(last.regionClass == "tier1" && last.score == 52.9 && last.tier == .mid, "\(customer)")
            } else {
                #expect(last.regionClass == "rural" && last.score == 72.9 && last.tier == .high, "\(customer)")
            }
            #expect(last.activity == .active && last.churnRisk == .low)
            #expect(last.changed.contains("arpu"))
        }
        #expect(running.processor.published == 240)
        #expect(running.loop.counts.deadLetters.isEmpty, "\(running.loop.counts)")
        #expect(running.processor.replayed == 0)
    }

    /// One partition: Q goes silent; B's later contact moves event time past Q's 30 days (Q cools);
    /// then the partition falls quiet and the wall clock moves it on (Q inactive, B cooling).
    @Test func aSilentCustomerCoolsThenGoesInactiveAlsoWhenThePartitionFallsQuiet() async throws {
        let running = try Running(partitions: 1)
        let t0 = Int64(Date().timeIntervalSince1970 * 1000) - 40 * day
        try await running.send([
            Self.account(.profile(.init(customerId: "Q", at: date(t0)))),
            Self.account(.profile(.init(customerId: "B", at: date(t0)))),
            Self.contact("Q", at: t0),
            Self.contact("B", at: t0 + 31 * day),
        ])
        try await running.waitForInput(4)
        try await waitUntil("Q cooling by event time") {
            running.processor.publishedByTimers >= 1
        }
        // The partition is quiet now: 60 more days of wall-clock quiet.
        running.wallSkew.milliseconds.store(60 * day, ordering: .relaxed)
        try await waitUntil("the wall clock moves the quiet partition on") {
            running.processor.publishedByTimers >= 3
        }
        let segments = try await Self.segments(running.cluster, partitions: 1)
        try await running.stop()
        let q = segments.filter { $0.customerId == "Q" }
        let b = segments.filter { $0.customerId == "B" }
        #expect(q.map(\.activity) == [.active, .cooling, .inactive])
        #expect(q.map(\.version) == [1, 2, 3])
        #expect(q.dropFirst().first?.asOf == date(t0 + 31 * day))
        #expect(b.map(\.activity) == [.active, .cooling])
        #expect(q.last?.churnRisk == .high)
        #expect(q.last?.reasons.contains { $0.hasSuffix("more than 90 → inactive") } == true)
    }
}

/// Milliseconds added to the wall clock.
final class Skew: Sendable {
    let milliseconds = Atomic<Int64>(0)
}

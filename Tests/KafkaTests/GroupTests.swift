import Kafka
import TestSupport
import Testing

@Suite("consumer groups on the embedded broker", .timeLimit(.minutes(2)))
struct GroupTests {
    let cluster = TestCluster.shared

    /// A group member that commits after every batch and remembers what it processed.
    final class Member: Sendable {
        let consumer: KafkaConsumer
        let processed = Collected<[TopicPartition: [Int64]]>([:])
        let assigned = Collected<Set<TopicPartition>>([])
        let task: Task<Void, any Error>

        init(cluster: EmbeddedKafkaCluster, group: String, topic: String) throws {
            let consumer = try KafkaConsumer(
                configuration: consumerConfiguration(cluster, group: group),
                logger: quietLogger
            )
            try consumer.subscribe(topics: [topic])
            self.consumer = consumer
            let processed = self.processed
            let assigned = self.assigned
            task = Task {
                for await event in consumer.events {
                    switch event {
                    case .assigned(let partitions):
                        assigned.update { $0.formUnion(partitions) }
                    case .revoked(let partitions, _):
                        assigned.update { $0.subtract(partitions) }
                    case .records(let batch):
                        processed.update { seen in
                            for record in batch {
                                seen[TopicPartition(topic: record.topic, partition: record.partition), default: []]
                                    .append(record.offset)
                            }
                        }
                        try consumer.store(batch.nextOffsets)
                        try await consumer.commit()
                    case .error, .idle:
                        continue
                    }
                }
            }
        }

        var count: Int { processed.value.values.reduce(0) { $0 + $1.count } }
    }

    @Test func twoConsumersSplitThenOneTakesOverWithNothingLostOrTwice() async throws {
        let topic = uniqueName("group")
        let group = uniqueName("g")
        try cluster.createTopic(topic, partitions: 4)
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: quietLogger)

        let a = try Member(cluster: cluster, group: group, topic: topic)
        let b = try Member(cluster: cluster, group: group, topic: topic)
        try await waitUntil("both members to have partitions") {
            !a.assigned.value.isEmpty && !b.assigned.value.isEmpty
                && a.assigned.value.count + b.assigned.value.count == 4
        }
        #expect(a.assigned.value.isDisjoint(with: b.assigned.value))

        try await produce(producer, topic: topic, count: 2000, keys: 200)
        try await waitUntil("the first 2,000 records") { a.count + b.count == 2000 }
        #expect(a.count > 0 && b.count > 0)

        // b leaves (it committed everything it processed); a takes over its partitions.
        await b.consumer.close()
        try await b.task.value
        try await waitUntil("a to own every partition") { a.assigned.value.count == 4 }
        try await produce(producer, topic: topic, count: 2000, keys: 200, start: 2000)
        try await waitUntil("the next 2,000 records") { a.count + b.count == 4000 }

        // Every offset of every partition processed exactly once across both members.
        var all: [TopicPartition: [Int64]] = a.processed.value
        for (partition, offsets) in b.processed.value { all[partition, default: []] += offsets }
        for (_, offsets) in all {
            #expect(offsets.sorted() == Array(0..<Int64(offsets.count)))
        }
        #expect(all.values.reduce(0) { $0 + $1.count } == 4000)
        await a.consumer.close()
        try await a.task.value
        await producer.close()
    }
}

import Kafka
import Testing

@Suite("producer and consumer on the embedded broker", .timeLimit(.minutes(2)))
struct ProducerConsumerTests {
    let cluster = TestCluster.shared

    @Test func tenThousandRecordsRoundTripWithKeysHeadersAndOrder() async throws {
        let topic = uniqueName("roundtrip")
        try cluster.createTopic(topic, partitions: 8)
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: quietLogger)
        let headers = [KafkaHeader(name: "source", string: "test"), KafkaHeader(name: "empty", value: nil)]
        let reports = try await produce(producer, topic: topic, count: 10_000, keys: 100, headers: headers)
        #expect(reports.count == 10_000)
        #expect(reports.allSatisfy { $0.isDelivered })
        await producer.close()

        let consumer = try KafkaConsumer(
            configuration: consumerConfiguration(cluster, group: uniqueName("g")),
            logger: quietLogger
        )
        try consumer.assign((0..<8).map { TopicPartitionOffset(topic: topic, partition: $0, offset: .beginning) })
        var seen: [KafkaRecord] = []
        for await event in consumer.events {
            guard case .records(let batch) = event else { continue }
            for record in batch { seen.append(record.record) }
            if seen.count >= 10_000 { break }
        }
        await consumer.close()

        #expect(seen.count == 10_000)
        #expect(Set(seen.map(\.valueString)).count == 10_000)
        // Keys and headers survive; each key stays on one partition, in the order it was sent.
        var lastIndexPerKey: [String: Int] = [:]
        var lastOffsetPerPartition: [Int32: Int64] = [:]
        for record in seen {
            let key = try #require(record.keyString)
            let index = Int(try #require(record.valueString).dropFirst("value-".count))!
            #expect(key == "key-\(index % 100)")
            #expect(record.headers == headers)
            #expect(record.partition == Murmur2.partition(forKey: Array(key.utf8), partitionCount: 8))
            #expect(index > lastIndexPerKey[key, default: -1])
            #expect(record.offset > lastOffsetPerPartition[record.partition, default: -1])
            lastIndexPerKey[key] = index
            lastOffsetPerPartition[record.partition] = record.offset
        }
    }

    /// `wake()` hands a waiting reader an `.idle` at once, or makes its next read return one; it
    /// never blocks and never hides records (a record read later still arrives).
    @Test func wakeHandsTheReaderAnIdleEventNowOrOnItsNextRead() async throws {
        let topic = uniqueName("wake")
        try cluster.createTopic(topic, partitions: 1)
        let consumer = try KafkaConsumer(
            configuration: consumerConfiguration(cluster, group: uniqueName("g")),
            logger: quietLogger
        )
        try consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: .beginning)])
        // Nobody reading yet: the next read returns the idle event at once; a second wake adds none.
        consumer.wake()
        consumer.wake()
        #expect(consumer.hasEventReady)
        var iterator = consumer.events.makeAsyncIterator()
        guard case .idle = await iterator.next() else {
            Issue.record("the first read after wake() was not .idle")
            return
        }
        #expect(!consumer.hasEventReady, "two wakes made one event")
        // A reader waiting (no idle events configured, nothing on the topic) is woken.
        let reader = Task {
            var events = consumer.events.makeAsyncIterator()
            if case .idle = await events.next() { return true }
            return false
        }
        consumer.wake()  // whether the reader waits already or not yet, it gets the idle event
        #expect(await reader.value)
        // Records still arrive after wakes.
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: quietLogger)
        _ = try await produce(producer, topic: topic, count: 3)
        await producer.close()
        var seen = 0
        iterator = consumer.events.makeAsyncIterator()
        while seen < 3, let event = await iterator.next() {
            if case .records(let batch) = event { seen += batch.count }
        }
        #expect(seen == 3)
        await consumer.close()
    }

    @Test func recordsSequenceAndTombstones() async throws {
        let topic = uniqueName("records")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: quietLogger)
        let report = try await producer.send(ProducerRecord(topic: topic, key: "a", value: "1"))
        #expect(report.offset == KafkaOffset(0))
        try await producer.send(ProducerRecord(topic: topic, key: Array("a".utf8), value: nil))
        try await producer.send(ProducerRecord(topic: topic, key: nil, value: Array("no key".utf8)))
        await producer.close()

        let consumer = try KafkaConsumer(
            configuration: consumerConfiguration(cluster, group: uniqueName("g")),
            logger: quietLogger
        )
        try consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: .beginning)])
        var records: [KafkaRecord] = []
        for await record in consumer.records {
            records.append(record)
            if records.count == 3 { break }
        }
        await consumer.close()
        #expect(records.map(\.keyString) == ["a", "a", nil])
        #expect(records.map(\.valueString) == ["1", nil, "no key"])
        #expect(records[1].value == nil)
    }

    @Test func restartedConsumerResumesFromItsCommittedOffset() async throws {
        let topic = uniqueName("resume")
        let group = uniqueName("g")
        try cluster.createTopic(topic, partitions: 2)
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: quietLogger)
        try await produce(producer, topic: topic, count: 1000)

        // First run: process some records, commit exactly what was processed, stop.
        // Small batches: the first run must stop in the middle of each partition.
        let first = try KafkaConsumer(
            configuration: consumerConfiguration(cluster, group: group),
            maxBatchSize: 100,
            logger: quietLogger
        )
        try first.subscribe(topics: [topic])
        var committed: [TopicPartitionOffset] = []
        for await event in first.events {
            guard case .records(let batch) = event else { continue }
            committed = batch.nextOffsets
            try first.store(committed)
            try await first.commit()
            break
        }
        await first.close()
        #expect(!committed.isEmpty)

        // Second run, same group: the first record of each partition is the committed offset.
        let second = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: group), logger: quietLogger)
        try second.subscribe(topics: [topic])
        let stored = try await second.committed(committed.map(\.topicPartition))
        #expect(Set(stored) == Set(committed))
        var firstOffsets: [Int32: Int64] = [:]
        let expected = Dictionary(uniqueKeysWithValues: committed.map { ($0.partition, $0.offset.rawValue) })
        for await event in second.events {
            guard case .records(let batch) = event else { continue }
            for record in batch where firstOffsets[record.partition] == nil {
                firstOffsets[record.partition] = record.offset
            }
            if expected.keys.allSatisfy({ firstOffsets[$0] != nil }) { break }
        }
        await second.close()
        for (partition, offset) in expected {
            #expect(firstOffsets[partition] == offset)
        }
        await producer.close()
    }

    @Test func seekPauseResumeAndLag() async throws {
        let topic = uniqueName("seek")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: quietLogger)
        try await produce(producer, topic: topic, count: 100)
        await producer.close()

        let consumer = try KafkaConsumer(
            configuration: consumerConfiguration(cluster, group: uniqueName("g")),
            maxBatchSize: 10,
            logger: quietLogger
        )
        let partition = TopicPartition(topic: topic, partition: 0)
        try consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: KafkaOffset(90))])
        var offsets: [Int64] = []
        var iterator = consumer.events.makeAsyncIterator()
        while offsets.count < 10, let event = await iterator.next() {
            if case .records(let batch) = event { offsets += batch.map(\.offset) }
        }
        #expect(offsets == Array(90..<100))
        let lag = try consumer.lag()
        #expect(lag.count == 1)
        #expect(lag.first?.highWatermark == KafkaOffset(100))
        #expect(lag.first?.lag == 0)

        try consumer.pause([partition])
        try await consumer.seek([TopicPartitionOffset(topic: topic, partition: 0, offset: KafkaOffset(5))])
        try consumer.resume([partition])
        var afterSeek: Int64?
        while afterSeek == nil, let event = await iterator.next() {
            if case .records(let batch) = event { afterSeek = batch.first?.offset }
        }
        #expect(afterSeek == 5)
        await consumer.close()
    }
    @Test func highWatermarksOfManyPartitionsInOneCallEqualThePerPartitionQuery() async throws {
        let (first, second) = (uniqueName("ends"), uniqueName("ends"))
        try cluster.createTopic(first, partitions: 4)
        try cluster.createTopic(second, partitions: 3)
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: quietLogger)
        try await produce(producer, topic: first, count: 500)
        try await produce(producer, topic: second, count: 7)
        await producer.close()
        let consumer = try KafkaConsumer(
            configuration: consumerConfiguration(cluster, group: uniqueName("g")),
            logger: quietLogger
        )
        let partitions =
            (0..<4).map { TopicPartition(topic: first, partition: $0) }
            + (0..<3).map { TopicPartition(topic: second, partition: $0) }
        let ends = try await consumer.highWatermarks(partitions)
        #expect(ends.count == 7)
        for partition in partitions {
            let single = try await consumer.queryWatermarks(topic: partition.topic, partition: partition.partition)
            #expect(ends[partition] == single.high, "\(partition)")
        }
        #expect(partitions.filter { $0.topic == first }.reduce(0) { $0 + ends[$1]! } == 500)
        #expect(partitions.filter { $0.topic == second }.reduce(0) { $0 + ends[$1]! } == 7)
        await #expect(throws: KafkaError.self) {
            _ = try await consumer.highWatermarks([TopicPartition(topic: first, partition: 99)], timeout: .seconds(2))
        }
        await consumer.close()
    }

    @Test func uncommittedNamesThePartitionsAGroupHasNotCommittedToTheirEnd() async throws {
        let topic = uniqueName("progress")
        try cluster.createTopic(topic, partitions: 3)
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: quietLogger)
        try await produce(producer, topic: topic, count: 90)
        await producer.close()
        let consumer = try KafkaConsumer(
            configuration: consumerConfiguration(cluster, group: uniqueName("g")),
            logger: quietLogger
        )
        let partitions = (0..<3).map { TopicPartition(topic: topic, partition: Int32($0)) }
        let ends = try await consumer.highWatermarks(partitions)
        // 90 keys hashed over 3 partitions: each has a few records (murmur2 is deterministic).
        try #require(partitions.allSatisfy { ends[$0]! > 1 })
        // Nothing committed: every partition is behind, from 0.
        let before = try await consumer.uncommitted(partitions)
        #expect(Set(before.map(\.topicPartition)) == Set(partitions))
        #expect(before.allSatisfy { $0.committed == 0 && $0.high == ends[$0.topicPartition] })
        // Partition 0 to its end, partition 1 one short, partition 2 not at all.
        try await consumer.commit([
            TopicPartitionOffset(topic: topic, partition: 0, offset: KafkaOffset(ends[partitions[0]]!)),
            TopicPartitionOffset(topic: topic, partition: 1, offset: KafkaOffset(ends[partitions[1]]! - 1)),
        ])
        let after = try await consumer.uncommitted(partitions)
        #expect(Set(after.map(\.topicPartition.partition)) == [1, 2])
        #expect(after.first { $0.topicPartition.partition == 1 }?.committed == ends[partitions[1]]! - 1)
        // The same answer from watermarks fetched once for several groups.
        #expect(try await consumer.uncommitted(partitions, ends: ends) == after)
        await consumer.close()
    }
}

import Kafka
import TestSupport
import Testing

/// Faults are injected into a cluster of the test's own, so that other tests never see them.
@Suite("faults on the embedded broker", .timeLimit(.minutes(2)))
struct FaultTests {
    /// Reads `topic`'s single partition from the beginning until `count` records arrived.
    func readAll(_ cluster: EmbeddedKafkaCluster, topic: String, count: Int) async throws -> [String] {
        let consumer = try KafkaConsumer(
            configuration: consumerConfiguration(cluster, group: uniqueName("g")),
            logger: quietLogger
        )
        try consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: .beginning)])
        var values: [String] = []
        for await event in consumer.events {
            guard case .records(let batch) = event else { continue }
            values += batch.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            if values.count >= count { break }
        }
        await consumer.close()
        return values
    }

    @Test func sendsDuringABrokerOutageAreDeliveredOnceItIsBack() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: quietLogger)
        let topic = uniqueName("outage")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: quietLogger)
        try await produce(producer, topic: topic, count: 100)

        try cluster.setBrokerDown(1)
        let sending = Task { try await produce(producer, topic: topic, count: 500, start: 100) }
        try await waitUntil("the records to be queued while the broker is down") { producer.outstanding >= 500 }
        // The outage itself: the broker stays down this long whatever the producer does.
        try await Task.sleep(for: .seconds(3))
        #expect(producer.outstanding >= 500)
        try cluster.setBrokerUp(1)

        let reports = try await sending.value
        #expect(reports.count == 500)
        await producer.close()
        let values = try await readAll(cluster, topic: topic, count: 600)
        // Idempotence: retried requests are not written twice.
        #expect(values.count == 600)
        #expect(Set(values) == Set((0..<600).map { "value-\($0)" }))
        cluster.shutdown()
    }

    @Test func aFullQueueMakesTheSenderWaitAndDropsNothing() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: quietLogger)
        let topic = uniqueName("backpressure")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(
            configuration: producerConfiguration(cluster, ["queue.buffering.max.messages": "10"]),
            logger: quietLogger
        )
        try cluster.setBrokerDown(1)
        let sending = Task { try await produce(producer, topic: topic, count: 200) }
        try await waitUntil("the sender to wait on the full queue") { producer.backPressureWaits > 0 }
        #expect(producer.outstanding <= 10)
        try cluster.setBrokerUp(1)

        let reports = try await sending.value
        #expect(reports.count == 200)
        #expect(reports.allSatisfy { $0.isDelivered })
        await producer.close()
        let values = try await readAll(cluster, topic: topic, count: 200)
        #expect(values == (0..<200).map { "value-\($0)" })
        cluster.shutdown()
    }

    @Test func injectedProduceErrorsAreRetriedWithoutDuplicates() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: quietLogger)
        let topic = uniqueName("errors")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: quietLogger)
        try await produce(producer, topic: topic, count: 10)
        try cluster.pushRequestErrors(
            apiKey: KafkaAPI.produce,
            errors: [
                KafkaErrorCode.notEnoughReplicas, KafkaErrorCode.requestTimedOut, KafkaErrorCode.notEnoughReplicas,
            ]
        )
        try await produce(producer, topic: topic, count: 90, start: 10)
        await producer.close()
        let values = try await readAll(cluster, topic: topic, count: 100)
        #expect(values == (0..<100).map { "value-\($0)" })
        cluster.shutdown()
    }

    @Test func aProducerPointedAtADeadAddressReportsAClearError() async throws {
        let producer = try KafkaProducer(
            configuration: ["bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": "2000"],
            logger: quietLogger
        )
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(ProducerRecord(topic: "nowhere", key: "k", value: "v"))
        }
        #expect(error?.code == .delivery)
        #expect(error?.rdKafkaName == "_MSG_TIMED_OUT")
        #expect(error?.isRetriable == true)
        #expect(error?.isPermanentForRecord == false)  // the broker may come: worth sending again
        #expect(error?.description.contains("Local: Message timed out") == true)
        await producer.close()
    }

    @Test func aRecordRefusedForWhatItIsIsReportedAsPermanent() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: quietLogger)
        let topic = uniqueName("refused")
        try cluster.createTopic(topic, partitions: 1)
        var configuration = producerConfiguration(cluster)
        configuration["message.max.bytes"] = "2000"
        let producer = try KafkaProducer(configuration: configuration, logger: quietLogger)
        // Over the client's own limit: refused before it is sent.
        let tooLarge = await #expect(throws: KafkaError.self) {
            try await producer.send(ProducerRecord(topic: topic, key: "k", value: String(repeating: "x", count: 3000)))
        }
        #expect(tooLarge?.rdKafkaName == "MSG_SIZE_TOO_LARGE")
        #expect(tooLarge?.isPermanentForRecord == true)
        // Refused by the broker (as one with a lower max.message.bytes for the topic does).
        try cluster.pushRequestErrors(apiKey: KafkaAPI.produce, errors: [KafkaErrorCode.messageTooLarge])
        let refused = await #expect(throws: KafkaError.self) {
            try await producer.send(ProducerRecord(topic: topic, key: "k", value: "small enough for us"))
        }
        #expect(refused?.rdKafkaName == "MSG_SIZE_TOO_LARGE")
        #expect(refused?.isPermanentForRecord == true)
        // The producer goes on.
        try await producer.send(ProducerRecord(topic: topic, key: "k", value: "after"))
        await producer.close()
        cluster.shutdown()
    }

    @Test func aBadPropertyIsRejectedByName() {
        let error = #expect(throws: KafkaError.self) {
            try KafkaProducer(
                configuration: ["bootstrap.servers": "127.0.0.1:1", "linger.ms": "soon"],
                logger: quietLogger
            )
        }
        #expect(error?.code == .configuration)
        #expect(error?.reason.contains("linger.ms") == true)
    }
}

import Foundation
import TestSupport
import Testing

@testable import Kafka

@Suite("A consumer let go of releases its client")
struct ConsumerReleaseTests {
    let cluster = TestCluster.shared

    /// A reader that stops early and closes its consumer leaves batches fetched but never read.
    /// They hold the client, which held them back through its callbacks and the consumer's
    /// channel: the librdkafka handle (threads, sockets, fetched records) lived on after the
    /// consumer was gone.
    @Test func closedWithUnreadBatchesTheHandleIsDestroyed() async throws {
        let topic = uniqueName("release")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: quietLogger)
        try await produce(producer, topic: topic, count: 200)
        await producer.close()

        weak var client: RDKafkaClient?
        do {
            let consumer = try KafkaConsumer(
                configuration: consumerConfiguration(cluster, group: uniqueName("g")),
                maxBatchSize: 10,
                logger: quietLogger
            )
            client = consumer.client
            try consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: .beginning)])
            var iterator = consumer.events.makeAsyncIterator()
            var first: Int64?
            while first == nil, let event = await iterator.next() {
                if case .records(let batch) = event { first = batch.first?.offset }
            }
            #expect(first == 0)
            try await waitUntil("a batch fetched and not read", timeout: .seconds(30)) { consumer.hasEventReady }
            await consumer.close()
        }
        // The poll thread and the blocking close may let go of their references a moment after
        // `close` returns.
        try await waitUntil("the consumer's client released", timeout: .seconds(30)) { client == nil }
    }
}

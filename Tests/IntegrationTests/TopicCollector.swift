import Foundation
import Kafka
import Logging

/// Every record of a topic (all partitions, from the beginning), collected in the background.
final class TopicCollector: @unchecked Sendable {
    struct Record: Sendable {
        var partition: Int32
        var key: String
        var value: String
    }

    private let lock = NSLock()
    private var records: [Record] = []
    private let consumer: KafkaConsumer
    private var task: Task<Void, Never>?
    private var last = ContinuousClock.now

    init(cluster: EmbeddedKafkaCluster, topic: String, partitions: Int32) throws {
        consumer = try KafkaConsumer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "fetch.wait.max.ms": "10"],
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        try consumer.assign(
            (0..<partitions).map { TopicPartitionOffset(topic: topic, partition: $0, offset: .beginning) }
        )
        let consumer = self.consumer
        task = Task { [weak self] in
            for await record in consumer.records {
                guard let self else { return }
                let collected = Record(
                    partition: record.partition,
                    key: record.keyString ?? "",
                    value: record.valueString ?? ""
                )
                self.lock.withLock {
                    self.records.append(collected)
                    self.last = .now
                }
            }
        }
    }

    var all: [Record] { lock.withLock { records } }
    var count: Int { lock.withLock { records.count } }
    /// How long since the last record arrived.
    var quietFor: Duration { lock.withLock { ContinuousClock.now - last } }

    /// Final KPI records: key → every value published for it.
    var finals: [String: [String]] {
        var finals: [String: [String]] = [:]
        for record in all where record.value.contains(#""final":true"#) {
            finals[record.key, default: []].append(record.value)
        }
        return finals
    }

    func stop() async {
        await consumer.close()
        await task?.value
    }
}

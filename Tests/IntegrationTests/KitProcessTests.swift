import Foundation
import Kafka
import Logging
import TestSupport
import Testing

/// The service kit under real process faults: `tandem probe` (a word counter on the kit) runs as
/// a separate process against an embedded cluster owned by the test, which injects the faults.
@Suite("service kit under process faults", .serialized, .timeLimit(.minutes(3)))
struct KitProcessTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    struct Topics {
        let id = UUID().uuidString.prefix(6)
        var input: String { "probe.in-\(id)" }
        var output: String { "probe.out-\(id)" }
        var changelog: String { "cs.probe.counts-\(id)" }
        var all: [String] { [input, output, changelog, "cs.deadletter"] }
    }

    /// A `tandem probe` process in `group`.
    func probe(_ cluster: EmbeddedKafkaCluster, _ topics: Topics, group: String) throws -> GroupMember {
        try GroupMember(
            "tandem",
            arguments: ["probe", "--input", topics.input, "--output", topics.output, "--changelog", topics.changelog],
            cluster: cluster,
            group: group
        )
    }

    /// Everything written to the output topic, collected in the background.
    final class Outputs: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [String] = []
        private let consumer: KafkaConsumer
        private var task: Task<Void, Never>?

        init(cluster: EmbeddedKafkaCluster, topic: String, partitions: Int32) throws {
            consumer = try KafkaConsumer(
                configuration: ["bootstrap.servers": cluster.bootstrapServers, "fetch.wait.max.ms": "10"],
                logger: quiet
            )
            try consumer.assign(
                (0..<partitions).map { TopicPartitionOffset(topic: topic, partition: $0, offset: .beginning) }
            )
            let consumer = self.consumer
            task = Task { [weak self] in
                for await record in consumer.records {
                    guard let self else { return }
                    self.lock.withLock { self.values.append(record.valueString ?? "") }
                }
            }
        }

        var all: [String] { lock.withLock { values } }

        func stop() async {
            await consumer.close()
            await task?.value
        }
    }

    func makeCluster(brokers: Int, topics: Topics, partitions: Int) throws -> EmbeddedKafkaCluster {
        let cluster = try EmbeddedKafkaCluster(brokers: brokers, logger: Self.quiet)
        for topic in topics.all { try cluster.createTopic(topic, partitions: partitions) }
        return cluster
    }

    func send(_ cluster: EmbeddedKafkaCluster, _ topic: String, _ records: [(String, String)]) async throws {
        let producer = try KafkaProducer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers],
            logger: Self.quiet
        )
        var batch = ProducerBatch()
        for (key, value) in records { batch.append(topic: topic, key: Array(key.utf8), value: Array(value.utf8)) }
        let reports = try await producer.send(batch)
        #expect(reports.allDelivered)
        await producer.close()
    }

    /// Waits until the group has committed every record of the topic: the "state before" a kill -9
    /// is then well defined (a kill between an output's acknowledgement and the commit would, by
    /// design, re-send that output once more after the restart).
    func waitUntilCommitted(
        _ cluster: EmbeddedKafkaCluster,
        group: String,
        topic: String,
        partitions: Int32
    ) async throws {
        let reader = try KafkaConsumer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "group.id": group],
            logger: Self.quiet
        )
        let all = (0..<partitions).map { TopicPartition(topic: topic, partition: $0) }
        try await waitUntil("\(group) to commit all of \(topic)", timeout: .seconds(30)) {
            try await reader.uncommitted(all).isEmpty
        }
        await reader.close()
    }

    static let keys = (0..<24).map { "customer-\($0)" }

    /// `key=n` for every key and n in `counts`.
    func expected(_ counts: ClosedRange<Int>) -> [String] {
        Self.keys.flatMap { key in counts.map { "\(key)=\($0)" } }.sorted()
    }

    @Test func stateRestoredAfterKill9EqualsTheStateBefore() async throws {
        let topics = Topics()
        let cluster = try makeCluster(brokers: 1, topics: topics, partitions: 4)
        let group = "probe-\(topics.id)"
        let outputs = try Outputs(cluster: cluster, topic: topics.output, partitions: 4)
        let first = try probe(cluster, topics, group: group)
        defer { first.terminate() }
        try await first.waitReady()
        try await send(cluster, topics.input, Self.keys.flatMap { [($0, "a"), ($0, "b"), ($0, "c")] })
        try await waitUntil("72 outputs") { outputs.all.count == 72 }
        try await waitUntilCommitted(cluster, group: group, topic: topics.input, partitions: 4)

        first.kill9()
        let second = try probe(cluster, topics, group: group)
        defer { second.terminate() }
        try await second.waitReady()
        try await send(cluster, topics.input, Self.keys.map { ($0, "d") })
        try await waitUntil("the fourth count of every key", timeout: .seconds(40)) {
            Set(outputs.all).isSuperset(of: Self.keys.map { "\($0)=4" })
        }
        // Counts continue from the restored state (no reset to 1), and nothing is counted twice.
        #expect(outputs.all.sorted() == expected(1...4))
        second.terminate()
        await outputs.stop()
        cluster.shutdown()
    }

    @Test func anInputIsNotCommittedBeforeItsOutputIsAcknowledged() async throws {
        let topics = Topics()
        let cluster = try makeCluster(brokers: 3, topics: topics, partitions: 1)
        let group = "probe-\(topics.id)"
        // Outputs go to broker 2; input, changelog, dead letters and the group's offsets stay on broker 1.
        try cluster.setPartitionLeader(topics.output, partition: 0, brokerID: 2)
        for topic in [topics.input, topics.changelog, "cs.deadletter"] {
            try cluster.setPartitionLeader(topic, partition: 0, brokerID: 1)
        }
        try cluster.setCoordinator(key: group, brokerID: 1)
        let outputs = try Outputs(cluster: cluster, topic: topics.output, partitions: 1)
        let first = try probe(cluster, topics, group: group)
        defer { first.terminate() }
        try await first.waitReady()
        try await send(cluster, topics.input, [("alice", "one")])
        try await waitUntil("alice=1") { outputs.all == ["alice=1"] }

        try cluster.setBrokerDown(2)
        try await send(cluster, topics.input, [("bob", "two")])  // offset 1 of the input
        // The probe has processed bob: its output went to the producer, into the outage.
        try await waitUntil("the probe processed bob") {
            let metrics = await httpGet("http://127.0.0.1:\(first.port)/metrics")?.body ?? ""
            return metrics.split(separator: "\n").contains { line in
                line.hasPrefix("tandem_probe_processed_total")
                    && (line.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= 2
            }
        }
        first.kill9()

        let reader = try KafkaConsumer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "group.id": group],
            logger: Self.quiet
        )
        let committed = try await reader.committed([TopicPartition(topic: topics.input, partition: 0)])
        await reader.close()
        #expect(
            committed.first?.offset == KafkaOffset(1),
            "bob's input must not be committed: its output was never acknowledged"
        )

        try cluster.setBrokerUp(2)
        let second = try probe(cluster, topics, group: group)
        defer { second.terminate() }
        try await waitUntil("bob=1 after the restart", timeout: .seconds(40)) { outputs.all.contains("bob=1") }
        #expect(outputs.all.filter { $0 == "alice=1" }.count == 1)
        second.terminate()
        await outputs.stop()
        cluster.shutdown()
    }

    @Test func whenOneOfTwoInstancesDiesTheOtherRebuildsItsState() async throws {
        let topics = Topics()
        let cluster = try makeCluster(brokers: 1, topics: topics, partitions: 4)
        let group = "probe-\(topics.id)"
        let outputs = try Outputs(cluster: cluster, topic: topics.output, partitions: 4)
        let a = try probe(cluster, topics, group: group)
        let b = try probe(cluster, topics, group: group)
        defer {
            a.terminate()
            b.terminate()
        }
        try await a.waitReady()
        try await b.waitReady()
        try await send(cluster, topics.input, Self.keys.flatMap { [($0, "a"), ($0, "b")] })
        try await waitUntil("48 outputs", timeout: .seconds(40)) { outputs.all.count == 48 }
        try await waitUntilCommitted(cluster, group: group, topic: topics.input, partitions: 4)

        b.kill9()
        try await send(cluster, topics.input, Self.keys.map { ($0, "c") })
        try await waitUntil(
            "the third count of every key (after the session timeout moves b's partitions)",
            timeout: .seconds(60)
        ) {
            outputs.all.count >= 72
        }
        #expect(outputs.all.sorted() == expected(1...3))
        a.terminate()
        await outputs.stop()
        cluster.shutdown()
    }

    @Test func aBrokerDownForSeveralSecondsLosesNothing() async throws {
        let topics = Topics()
        let cluster = try makeCluster(brokers: 1, topics: topics, partitions: 4)
        let group = "probe-\(topics.id)"
        let outputs = try Outputs(cluster: cluster, topic: topics.output, partitions: 4)
        let probe = try probe(cluster, topics, group: group)
        defer { probe.terminate() }
        try await probe.waitReady()
        try await send(cluster, topics.input, Self.keys.map { ($0, "a") })
        try await waitUntil("24 outputs") { outputs.all.count == 24 }

        try cluster.setBrokerDown(1)
        let sending = Task { try await send(cluster, topics.input, Self.keys.map { ($0, "b") }) }
        // The outage itself.
        try await Task.sleep(for: .seconds(4))
        try cluster.setBrokerUp(1)
        try await sending.value
        try await waitUntil("48 outputs after the outage", timeout: .seconds(60)) {
            Set(outputs.all).isSuperset(of: Self.keys.map { "\($0)=2" })
        }
        #expect(outputs.all.sorted() == expected(1...2))
        probe.terminate()
        #expect(probe.process.terminationStatus == 0)
        await outputs.stop()
        cluster.shutdown()
    }
}

import Foundation
import Kafka
import Logging
import Models
import Simulator
import Synchronization
import TestSupport
import Testing

/// `tandem simulate` as a separate process against an embedded cluster: what lands on each topic,
/// under which key and partition, and the marketing team's answers to leads.
@Suite(.serialized) struct SimulateCommandTests {
    static let partitions: Int32 = 3
    let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test(.timeLimit(.minutes(2))) func simulatePutsTheSeededStreamOnTheRightTopicsKeysAndPartitions() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: quiet)
        defer { cluster.shutdown() }
        let prefix = "sim\(UUID().uuidString.prefix(6))."
        let topics = [Topics.catalog, Topics.accounts, Topics.interactionsRaw, Topics.leads, Topics.leadOutcomes]
        for topic in topics { try cluster.createTopic(prefix + topic.name, partitions: Int(Self.partitions)) }
        let start = "2026-03-01T00:00:00Z"
        let process = Process()
        process.executableURL = try tandemBinary()
        process.arguments = [
            "simulate", "--brokers", cluster.bootstrapServers, "--prefix", prefix, "--rate", "300", "--customers", "25",
            "--seed", "7", "--start", start, "--history-months", "3", "--json",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // The marketing team reads cs.leads from its end once it has joined: offer leads until one
        // is answered. A lead made an hour before the start in a live contact is answered at once.
        let producer = try KafkaProducer(configuration: ["bootstrap.servers": cluster.bootstrapServers], logger: quiet)
        let outcomesConsumer = try KafkaConsumer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "fetch.wait.max.ms": "10"],
            logger: quiet
        )
        try outcomesConsumer.assign(
            (0..<Self.partitions).map {
                TopicPartitionOffset(topic: prefix + Topics.leadOutcomes.name, partition: $0, offset: .beginning)
            }
        )
        let seenOutcomes = Mutex<[KafkaRecord]>([])
        let reader = Task {
            for await record in outcomesConsumer.records { seenOutcomes.withLock { $0.append(record) } }
        }
        var leads: [String: Lead] = [:]
        let createdAt = try #require(Timestamp.parse(start)).addingTimeInterval(-3600)
        try await waitUntil("a lead answered on cs.lead-outcomes", timeout: .seconds(60)) {
            if !seenOutcomes.withLock({ $0.isEmpty }) { return true }
            let lead = makeLead("lead-\(leads.count)", assignee: .inContact, createdAt: createdAt)
            leads[lead.leadId] = lead
            try await producer.send(
                ProducerRecord(
                    topic: prefix + Topics.leads.name,
                    key: Array(lead.customerId.utf8),
                    value: try TandemJSON.encode(lead)
                )
            )
            try await Task.sleep(for: .milliseconds(200))
            return false
        }
        // Outcomes are sent as a pair within one batch: wait for the second of the first lead too.
        try await waitUntil("both outcomes of a lead") { seenOutcomes.withLock { $0.count >= 2 } }

        process.interrupt()  // SIGINT: flush, close, summary, exit 0
        try await waitUntil("tandem simulate to exit", timeout: .seconds(30)) { !process.isRunning }
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let lastLine = try #require(text.split(separator: "\n").last)
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any]
        )
        let counts = try #require(summary["records"] as? [String: Int])
        #expect((summary["failed"] as? Int) == 0)
        #expect((summary["live"] as? Int ?? 0) > 0)

        // Every record of the generator's stream, in order per partition, keyed and partitioned
        // as the Java client would (murmur2).
        var generator = TrafficGenerator(
            seed: 7,
            start: try #require(Timestamp.parse(start)),
            customers: 25,
            rate: 300,
            invalidShare: 0.005,
            historyMonths: 3
        )
        let generated = (counts.values.reduce(0, +) - (counts[Topics.leadOutcomes.name] ?? 0))
        var expected: [String: [[UInt8]]] = [:]
        for _ in 0..<generated {
            let record = generator.next()
            let partition = Murmur2.partition(forKey: Array(record.key.utf8), partitionCount: Self.partitions)
            expected["\(record.topic.name)/\(partition)", default: []].append(record.value)
        }
        for topic in [Topics.catalog, Topics.accounts, Topics.interactionsRaw] {
            let records = try await readAll(cluster, prefix + topic.name, count: counts[topic.name] ?? 0)
            #expect(records.count == counts[topic.name])
            #expect(counts[topic.name] ?? 0 > 0, "nothing on \(topic.name)")
            for partition in 0..<Self.partitions {
                let onPartition = records.filter { $0.partition == partition }.sorted { $0.offset < $1.offset }
                #expect(onPartition.map { $0.value ?? [] } == expected["\(topic.name)/\(partition)"] ?? [])
                for record in onPartition {
                    let key = try #require(record.key)
                    #expect(Murmur2.partition(forKey: key, partitionCount: Self.partitions) == partition)
                }
            }
        }

        // The marketing team's answers are the team's decisions for the leads offered.
        let team = MarketingTeam(catalog: SimulatedCatalog.products(start: try #require(Timestamp.parse(start))))
        let outcomes = try await readAll(
            cluster,
            prefix + Topics.leadOutcomes.name,
            count: counts[Topics.leadOutcomes.name] ?? 0
        )
        #expect(outcomes.count >= 2)
        for record in outcomes {
            let outcome = try TandemJSON.decode(LeadOutcome.self, from: record.value ?? [])
            let lead = try #require(leads[outcome.leadId])
            #expect(team.outcomes(for: lead).contains(outcome))
            #expect(record.key == Array(lead.customerId.utf8))
        }
        await outcomesConsumer.close()
        await reader.value
        await producer.close()
    }

    /// Reads a topic from the beginning until `count` records arrived.
    private func readAll(_ cluster: EmbeddedKafkaCluster, _ topic: String, count: Int) async throws -> [KafkaRecord] {
        let consumer = try KafkaConsumer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "fetch.wait.max.ms": "10"],
            logger: quiet
        )
        try consumer.assign(
            (0..<Self.partitions).map { TopicPartitionOffset(topic: topic, partition: $0, offset: .beginning) }
        )
        let records = Mutex<[KafkaRecord]>([])
        let reader = Task {
            for await record in consumer.records { records.withLock { $0.append(record) } }
        }
        try await waitUntil("\(count) records on \(topic)") { records.withLock { $0.count >= count } }
        await consumer.close()
        await reader.value
        return records.withLock { $0 }
    }
}

/// The `tandem` executable next to the test bundle (built by `swift build --build-tests`).
func tandemBinary() throws -> URL {
    let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let binary = directory.appendingPathComponent("tandem")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        throw TimedOut(what: "a tandem binary at \(binary.path): run `swift build` first")
    }
    return binary
}

import Foundation
import Kafka
import Logging
import Models
import TestSupport
import Testing

/// The real `tandem-kpi` binary, killed with SIGKILL in the middle of a 20,000-event stream and
/// restarted: its final records must be those of a clean run, byte for byte.
@Suite("tandem-kpi under kill -9", .serialized, .timeLimit(.minutes(4)))
struct KPIProcessTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let partitions: Int32 = 4
    /// 2026-11-25T08:00:00Z.
    static let base = Date(timeIntervalSince1970: 1_795_593_600)

    /// Short graces so the stream's own event time closes its windows; no wall-clock advance.
    static func rulesFile() throws -> String {
        try writeRulesFile(name: "kpi-rules", graceSeconds: 60, minuteThrottleSeconds: 1)
    }

    static func interaction(_ index: Int, count: Int) -> (partition: Int32, json: String) {
        let customer = index % 40
        let time = Timestamp.format(base.addingTimeInterval(Double(index) * 1200 / Double(count)))!
        let channel = ["phone", "chat", "wechat", "email", "app"][index % 5]
        let kind = ["inquiry", "request", "complaint", "follow_up", "survey"][index % 5 == 4 ? 4 : index % 3]
        let topic = ["billing", "plan", "network", "roaming", "device"][index % 5]
        var json =
            #"{"eventId":"e\#(index)","occurredAt":"\#(time)","channel":"\#(channel)","kind":"\#(kind)","customerId":"c\#(customer)","topic":"\#(topic)","queue":"q\#(index % 7)","answered":\#(index % 4 != 0),"waitSeconds":\#(index % 37),"handleSeconds":\#(30 + index % 400),"resolved":\#(index % 3 != 0),"sentiment":\#(Double(index % 9 - 4) / 5)"#
        if kind == "survey" { json += #","csat":\#(1 + index % 5),"effort":\#(1 + index % 4),"nps":\#(index % 11)"# }
        return (Int32(customer % 4), json + "}")
    }

    static func produce(
        _ cluster: EmbeddedKafkaCluster,
        _ records: [(topic: String, partition: Int32, json: String)]
    ) async throws {
        let producer = try KafkaProducer(configuration: ["bootstrap.servers": cluster.bootstrapServers], logger: quiet)
        var batch = ProducerBatch(reservingCapacity: records.count)
        for record in records {
            batch.append(topic: record.topic, partition: record.partition, key: nil, value: Array(record.json.utf8))
        }
        #expect(try await producer.send(batch).allDelivered)
        await producer.close()
    }

    /// The stream in chunks: 20,000 interactions over 20 minutes of event time, then 09:30 on
    /// every partition (closing the minutes 08:00–08:19 and the hour 08:00).
    static func chunks(prefix: String, total: Int) -> [[(topic: String, partition: Int32, json: String)]] {
        var chunks: [[(topic: String, partition: Int32, json: String)]] = []
        for start in stride(from: 0, to: total, by: 1000) {
            chunks.append(
                (start..<start + 1000).map {
                    let record = interaction($0, count: total)
                    return (prefix + "cs.interactions", record.partition, record.json)
                }
            )
        }
        let close = Timestamp.format(base.addingTimeInterval(5400))!
        chunks.append(
            (0..<partitions).map {
                (
                    prefix + "cs.interactions", $0,
                    #"{"eventId":"close\#($0)","occurredAt":"\#(close)","channel":"phone","kind":"inquiry","customerId":"z\#($0)"}"#
                )
            }
        )
        return chunks
    }

    static var expectedKeys: Set<String> {
        var keys = Set(
            (0..<20).map { "minute/\(Timestamp.format(base.addingTimeInterval(Double($0) * 60))!)/overall/all" }
        )
        keys.insert("hour/\(Timestamp.format(base)!)/overall/all")
        return keys
    }

    static func segments(prefix: String) -> [(topic: String, partition: Int32, json: String)] {
        (0..<40).map {
            (
                prefix + "cs.segments", Int32($0 % 4),
                #"{"customerId":"c\#($0)","tier":"\#(["high", "mid", "low"][$0 % 3])"}"#
            )
        }
    }

    static func createTopics(_ cluster: EmbeddedKafkaCluster, prefix: String) throws {
        for name in [
            "cs.interactions", "cs.segments", "cs.leads", "cs.lead-outcomes", "cs.lead-suppressions", "cs.kpi.partials",
            "cs.kpi", "cs.opinion-report", "cs.alerts", "cs.deadletter", "cs.kpi.windows", "cs.kpi.customers",
            "cs.kpi.marks", "cs.kpi.merge",
        ] {
            try cluster.createTopic(prefix + name, partitions: Int(partitions))
        }
    }

    /// Starts a member and waits until it has read the tiers.
    static func start(
        _ cluster: EmbeddedKafkaCluster,
        prefix: String,
        group: String,
        rules: String
    ) throws -> GroupMember {
        try GroupMember(
            "tandem-kpi",
            environment: ["TANDEM_TOPIC_PREFIX": prefix, "TANDEM_RULES": rules, "TANDEM_MAX_BATCH": "500"],
            cluster: cluster,
            group: group
        )
    }

    static func waitForFinals(_ collector: TopicCollector) async throws {
        try await waitUntil("every expected window final", timeout: .seconds(90)) {
            expectedKeys.isSubset(of: Set(collector.finals.keys)) && collector.quietFor > .seconds(2)
        }
    }

    @Test func killedMidStreamThenRestartedPublishesTheFinalsOfACleanRun() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: Self.quiet)
        defer { cluster.shutdown() }
        let rules = try Self.rulesFile()
        let total = 20_000

        // The clean run.
        try Self.createTopics(cluster, prefix: "clean.")
        let cleanKPI = try TopicCollector(cluster: cluster, topic: "clean.cs.kpi", partitions: Self.partitions)
        let clean = try Self.start(
            cluster,
            prefix: "clean.",
            group: "kpi-clean-\(UUID().uuidString.prefix(6))",
            rules: rules
        )
        defer { clean.terminate() }
        try await clean.waitReady()
        try await Self.produce(cluster, Self.segments(prefix: "clean."))
        let cleanTiers = try TopicCollector(
            cluster: cluster,
            topic: "clean.cs.kpi.customers",
            partitions: Self.partitions
        )
        try await waitUntil("the tiers read") { cleanTiers.all.count >= 40 }
        for chunk in Self.chunks(prefix: "clean.", total: total) { try await Self.produce(cluster, chunk) }
        try await Self.waitForFinals(cleanKPI)
        clean.terminate()

        // The same stream, with a kill -9 in the middle.
        try Self.createTopics(cluster, prefix: "crash.")
        let crashKPI = try TopicCollector(cluster: cluster, topic: "crash.cs.kpi", partitions: Self.partitions)
        let group = "kpi-crash-\(UUID().uuidString.prefix(6))"
        let first = try Self.start(cluster, prefix: "crash.", group: group, rules: rules)
        defer { first.terminate() }
        try await first.waitReady()
        try await Self.produce(cluster, Self.segments(prefix: "crash."))
        let crashTiers = try TopicCollector(
            cluster: cluster,
            topic: "crash.cs.kpi.customers",
            partitions: Self.partitions
        )
        try await waitUntil("the tiers read") { crashTiers.all.count >= 40 }
        // The second half of the stream (and the record that closes the last windows) is held
        // back until after the kill, so the kill always lands mid-stream however fast the machine.
        let chunks = Self.chunks(prefix: "crash.", total: total)
        let held = chunks.count / 2
        let streaming = Task {
            for chunk in chunks[..<held] { try await Self.produce(cluster, chunk) }
        }
        try await waitUntil("some windows final", timeout: .seconds(60)) {
            crashKPI.finals.keys.filter { $0.hasSuffix("/overall/all") }.count >= 3
        }
        first.kill9()
        let finalsAtKill = crashKPI.finals.keys.filter { $0.hasSuffix("/overall/all") }.count
        try await streaming.value
        for chunk in chunks[held...] { try await Self.produce(cluster, chunk) }
        let second = try Self.start(cluster, prefix: "crash.", group: group, rules: rules)
        defer { second.terminate() }
        try await Self.waitForFinals(crashKPI)
        second.terminate()

        #expect(finalsAtKill < Self.expectedKeys.count, "the kill came after every window was final: it proved nothing")
        let expected = cleanKPI.finals
        let got = crashKPI.finals
        #expect(expected.count > 300)
        #expect(Set(got.keys) == Set(expected.keys))
        // A final published twice (by the killed instance and again after the restart) is identical.
        let different = expected.keys.filter { key in got[key].map { Set($0) != [expected[key]![0]] } ?? true }.sorted()
        #expect(different.isEmpty, "\(different.count) finals differ from the clean run, e.g. \(different.prefix(3))")
        #expect(expected.values.allSatisfy { Set($0).count == 1 })
        let twice = got.values.filter { $0.count > 1 }.count
        print("kpi kill -9: \(finalsAtKill) windows final at the kill, \(twice) finals published twice (identical)")
        await cleanKPI.stop()
        await crashKPI.stop()
        await cleanTiers.stop()
        await crashTiers.stop()
    }
}

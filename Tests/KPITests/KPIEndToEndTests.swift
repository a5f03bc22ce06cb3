import Foundation
import KPI
import Kafka
import Logging
import Models
import ServiceKit
import Testing

/// SPEC §5 on the embedded broker: the real ProcessingLoop, both stages, 4 partitions.
@Suite("KPI on the embedded broker", .timeLimit(.minutes(3)))
struct KPIEndToEndTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let partitions: Int32 = 4

    /// Short graces so that a test's own events close its windows.
    static func rules(minuteGrace: Int = 60, idleSeconds: Double = 3600) -> Rules {
        var rules = Rules.defaults
        rules.kpi.windows.minute.graceSeconds = minuteGrace
        rules.kpi.windows.hour.graceSeconds = 60
        rules.kpi.windows.day.graceSeconds = 60
        rules.kpi.windows.minute.updateThrottleSeconds = 1
        rules.eventTime.idleTimeoutSeconds = idleSeconds
        return rules
    }

    static let kpiTopics = [
        Topics.interactions, Topics.segments, Topics.leads, Topics.leadOutcomes, Topics.leadSuppressions,
        Topics.kpiPartials, Topics.kpi, Topics.opinionReport, Topics.alerts, Topics.deadLetter,
        Topics.changelog(service: "kpi", store: "windows"), Topics.changelog(service: "kpi", store: "customers"),
        Topics.changelog(service: "kpi", store: "marks"), Topics.changelog(service: "kpi", store: "merge"),
    ]

    static func createTopics(_ cluster: EmbeddedKafkaCluster, prefix: String) throws {
        for topic in kpiTopics { try cluster.createTopic(prefix + topic.name, partitions: Int(partitions)) }
    }

    /// A KPI service instance running in this process.
    final class Instance: Sendable {
        let processor: KPIProcessor
        let loop: ProcessingLoop<KPIProcessor>
        let running: Task<Void, any Error>

        init(_ cluster: EmbeddedKafkaCluster, prefix: String, group: String, rules: Rules) throws {
            let configuration = ServiceConfiguration(
                service: "kpi",
                brokers: cluster.bootstrapServers,
                kafkaProperties: [
                    "fetch.wait.max.ms": "10", "partition.assignment.strategy": "range",
                    "session.timeout.ms": "6000", "heartbeat.interval.ms": "300",
                ],
                topicPrefix: prefix,
                groupID: group,
                maxBatch: 500
            )
            processor = KPIProcessor(configuration: configuration, rules: rules, partitionCount: partitions)
            let loop = try ProcessingLoop(
                configuration: configuration,
                processor: processor,
                deadLetterTopic: prefix + Topics.deadLetter.name,
                logger: quiet
            )
            self.loop = loop
            running = Task { try await loop.run() }
        }

        func stop() async throws {
            loop.stop()
            try await running.value
        }
    }

    /// Sends records to explicit partitions.
    static func produce(
        _ cluster: EmbeddedKafkaCluster,
        _ records: [(topic: String, partition: Int32, json: String)]
    ) async throws {
        let producer = try KafkaProducer(configuration: ["bootstrap.servers": cluster.bootstrapServers], logger: quiet)
        var batch = ProducerBatch(reservingCapacity: records.count)
        for record in records {
            batch.append(
                topic: record.topic,
                partition: record.partition,
                key: Array("k".utf8),
                value: Array(record.json.utf8)
            )
        }
        #expect(try await producer.send(batch).allDelivered)
        await producer.close()
    }

    /// Reads a topic from the beginning until `done` holds for what was read (or the deadline).
    static func read(
        _ cluster: EmbeddedKafkaCluster,
        topic: String,
        timeout: Duration = .seconds(90),
        until done: ([KafkaRecord]) -> Bool
    ) async throws -> [KafkaRecord] {
        let consumer = try KafkaConsumer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "fetch.wait.max.ms": "10"],
            idleEventInterval: .milliseconds(200),
            logger: quiet
        )
        try consumer.assign(
            (0..<partitions).map { TopicPartitionOffset(topic: topic, partition: $0, offset: .beginning) }
        )
        var records: [KafkaRecord] = []
        let deadline = ContinuousClock.now + timeout
        var lastRecord = ContinuousClock.now
        // Once `done` holds, read on until the topic has been quiet for a second: records of one
        // output batch (a window's finals) land on several partitions and show up one by one.
        for await event in consumer.events {
            if case .records(let batch) = event {
                records += batch.map(\.record)
                lastRecord = .now
            }
            if (done(records) && ContinuousClock.now - lastRecord > .seconds(1)) || ContinuousClock.now > deadline {
                break
            }
        }
        await consumer.close()
        return records
    }

    /// The final KPI records by key (value bytes), from cs.kpi records.
    static func finals(_ records: [KafkaRecord]) -> [String: [UInt8]] {
        var finals: [String: [UInt8]] = [:]
        for record in records {
            guard let value = record.value, let snapshot = try? TandemJSON.decode(KPISnapshot.self, from: value),
                snapshot.final
            else { continue }
            finals[record.keyString ?? ""] = value
        }
        return finals
    }

    @Test func aFixedBatchGivesTheExpectedFinalAndALateEventIsDeadLettered() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: Self.quiet)
        defer { cluster.shutdown() }
        try Self.createTopics(cluster, prefix: "")
        let instance = try Instance(
            cluster,
            prefix: "",
            group: "kpi-\(UUID().uuidString.prefix(6))",
            rules: Self.rules()
        )
        // Minute 08:00, 40 customers over the 4 partitions: 30 phone calls answered after 10 s
        // (customers 0–29) and 10 abandoned after 30 s (30–39); customers 0–9 also complain by e-mail.
        var records: [(topic: String, partition: Int32, json: String)] = []
        for index in 0..<40 {
            let partition = Int32(index % 4)
            let extra = index < 30 ? #","answered":true,"waitSeconds":10"# : #","answered":false,"waitSeconds":30"#
            records.append(
                (
                    "cs.interactions", partition,
                    interaction(
                        "call\(index)",
                        at: base.addingTimeInterval(Double(index)),
                        customer: "c\(index)",
                        extra: extra
                    )
                )
            )
            if index < 10 {
                records.append(
                    (
                        "cs.interactions", partition,
                        interaction(
                            "mail\(index)",
                            at: base.addingTimeInterval(50),
                            channel: "email",
                            kind: "complaint",
                            customer: "c\(index)"
                        )
                    )
                )
            }
        }
        // 08:10 on every partition: past 08:01 + 60 s of grace.
        for partition in 0..<Self.partitions {
            records.append(
                (
                    "cs.interactions", partition,
                    interaction("tick\(partition)", at: base.addingTimeInterval(600), customer: "t\(partition)")
                )
            )
        }
        try await Self.produce(cluster, records)
        let key = "minute/\(Timestamp.format(base)!)/overall/all"
        let kpi = try await Self.read(cluster, topic: "cs.kpi") { Self.finals($0)[key] != nil }
        let overall = try TandemJSON.decode(KPISnapshot.self, from: try #require(Self.finals(kpi)[key]))
        #expect(overall.final)
        #expect(overall.counts.counters[.contacts] == 50)
        #expect(overall.counts.counters[.offered] == 40)
        #expect(overall.kpis.answerRate == 0.75)  // 30 / 40
        #expect(overall.kpis.abandonRate == 0.25)  // 10 / 40, no short abandons
        #expect(overall.kpis.serviceLevel == 0.75)
        #expect(overall.kpis.asaSeconds == 10)
        #expect(overall.kpis.complaintRate == 0.2)  // 10 / 50
        let email = try TandemJSON.decode(
            KPISnapshot.self,
            from: try #require(Self.finals(kpi)["minute/\(Timestamp.format(base)!)/channel/email"])
        )
        #expect(email.counts.counters[.complaints] == 10)
        #expect(email.kpis.answerRate == nil)

        // Now 08:00:30 is past its minute's grace on partition 2: a dead letter `late`.
        try await Self.produce(cluster, [("cs.interactions", 2, interaction("late", at: base.addingTimeInterval(30)))])
        let letters = try await Self.read(cluster, topic: "cs.deadletter") { !$0.isEmpty }
        let letter = try TandemJSON.decode(DeadLetter.self, from: try #require(letters.first?.value))
        #expect(letter.reason == "late")
        #expect(letter.service == "kpi")
        #expect(letter.sourcePartition == 2)
        try await instance.stop()
    }

    /// A mixed stream over 20 minutes of event time on 4 partitions, then 09:30 on every partition.
    static func mixedStream(count: Int) -> [(topic: String, partition: Int32, json: String)] {
        var records: [(topic: String, partition: Int32, json: String)] = []
        let channels = ["phone", "chat", "wechat", "email", "app", "weibo"]
        let kinds = ["inquiry", "request", "complaint", "follow_up", "survey"]
        let topics = ["billing", "plan", "network", "roaming", "device", "promotion", "account"]
        for index in 0..<count {
            let customer = index % 40
            let partition = Int32(customer % 4)
            let time = base.addingTimeInterval(Double(index) * 1200 / Double(count))
            let channel = channels[index % channels.count]
            if channel == "weibo" {
                let brand = index % 3 == 0 ? "rivalco" : "own"
                let json = interaction(
                    "o\(index)",
                    at: time,
                    channel: "weibo",
                    kind: "opinion",
                    customer: nil,
                    extra:
                        #","brand":"\#(brand)","sentiment":\#(Double(index % 7 - 3) / 4),"topic":"\#(topics[index % 7])""#
                )
                records.append(("cs.interactions", partition, json))
                continue
            }
            let kind = kinds[index % kinds.count]
            var extra = #","topic":"\#(topics[index % topics.count])","queue":"q\#(index % 5)","department":"service""#
            extra +=
                #","answered":\#(index % 4 != 0),"waitSeconds":\#(index % 45),"handleSeconds":\#(60 + index % 300)"#
            extra += #","resolved":\#(index % 3 != 0),"transfers":\#(index % 5 == 0 ? 1 : 0),"sentiment":0.25"#
            if kind == "survey" {
                extra += #","csat":\#(1 + index % 5),"effort":\#(1 + index % 5),"nps":\#(index % 11)"#
            }
            records.append(
                (
                    "cs.interactions", partition,
                    interaction(
                        "e\(index)",
                        at: time,
                        channel: channel,
                        kind: kind,
                        customer: "c\(customer)",
                        extra: extra
                    )
                )
            )
            if index % 50 == 0 {
                let at = Timestamp.format(time)!
                records.append(("cs.leads", partition, lead(index, customer: customer, at: at)))
                records.append(
                    (
                        "cs.lead-outcomes", partition,
                        #"{"leadId":"l\#(index)","customerId":"c\#(customer)","at":"\#(at)","outcome":"\#(["contacted", "accepted", "declined", "opted_out"][index / 50 % 4])"}"#
                    )
                )
                records.append(
                    (
                        "cs.lead-suppressions", partition,
                        #"{"suppressionId":"s\#(index)","customerId":"c\#(customer)","occurredAt":"\#(at)","type":"plan_fit","reason":"\#(["no_consent", "frequency_cap"][index / 50 % 2])","triggerEventId":"e\#(index)"}"#
                    )
                )
            }
        }
        for partition in 0..<Int32(4) {
            records.append(
                (
                    "cs.interactions", partition,
                    interaction("close\(partition)", at: base.addingTimeInterval(5400), customer: "z\(partition)")
                )
            )
            // 09:30 on every counted topic too: each topic's event time must pass 09:01.
            let close = Timestamp.format(base.addingTimeInterval(5400))!
            records.append(
                ("cs.leads", partition, lead(9000 + Int(partition), customer: 40 + Int(partition), at: close))
            )
            records.append(
                (
                    "cs.lead-outcomes", partition,
                    #"{"leadId":"z\#(partition)","customerId":"z\#(partition)","at":"\#(close)","outcome":"contacted"}"#
                )
            )
            records.append(
                (
                    "cs.lead-suppressions", partition,
                    #"{"suppressionId":"z\#(partition)","customerId":"z\#(partition)","occurredAt":"\#(close)","type":"plan_fit","reason":"no_consent","triggerEventId":"z"}"#
                )
            )
        }
        return records
    }

    static func lead(_ index: Int, customer: Int, at: String) -> String {
        #"{"leadId":"l\#(index)","customerId":"c\#(customer)","createdAt":"\#(at)","type":"plan_fit","productId":"p1","productName":"Plan","script":"s","propensity":0.2,"riskLevel":"low","tier":"\#(["high", "mid", "low"][customer % 3])","reason":"r","triggerEventId":"e\#(index)","followUp":{"channel":"phone","assignee":"outbound_team","notBefore":"\#(at)","expiresAt":"\#(at)"}}"#
    }

    /// The customers' tiers. Sent and processed before the stream: which of two topics a consumer
    /// reads first is not defined, so a tier that arrives with the stream could join differently.
    static var segments: [(topic: String, partition: Int32, json: String)] {
        (0..<40).map { customer in
            let tier = ["high", "mid", "low"][customer % 3]
            return ("cs.segments", Int32(customer % 4), #"{"customerId":"c\#(customer)","tier":"\#(tier)"}"#)
        }
    }

    /// The overall keys of the windows the mixed stream closes: minutes 08:00–08:19 and hour 08:00.
    static var expectedOverallKeys: Set<String> {
        var keys = Set(
            (0..<20).map { "minute/\(Timestamp.format(base.addingTimeInterval(Double($0) * 60))!)/overall/all" }
        )
        keys.insert("hour/\(Timestamp.format(base)!)/overall/all")
        return keys
    }

    static func run(
        instances: Int,
        cluster: EmbeddedKafkaCluster,
        prefix: String,
        stream: [(topic: String, partition: Int32, json: String)]
    ) async throws -> (kpi: [String: [UInt8]], reports: [String: [UInt8]]) {
        try createTopics(cluster, prefix: prefix)
        let group = "kpi-\(UUID().uuidString.prefix(6))"
        var running: [Instance] = []
        for _ in 0..<instances { running.append(try Instance(cluster, prefix: prefix, group: group, rules: rules())) }
        try await produce(cluster, segments.map { (prefix + $0.topic, $0.partition, $0.json) })
        _ = try await read(cluster, topic: prefix + "cs.kpi.customers") { $0.count >= 40 }
        // The lead topics first, and seen by the instances, so that each topic's event time exists
        // before the interactions move theirs on: a topic first seen after a window closed would
        // find its records late, and which topic a consumer reads first is not defined.
        let leadTopics = ["cs.leads", "cs.lead-outcomes", "cs.lead-suppressions"]
        try await produce(
            cluster,
            stream.filter { leadTopics.contains($0.topic) }.map { (prefix + $0.topic, $0.partition, $0.json) }
        )
        _ = try await read(cluster, topic: prefix + "cs.kpi.windows") { records in
            let keys = Set(
                records.compactMap { record in record.keyString.map { "\(record.partition)/\($0.prefix(2))" } }
            )
            return ["1|", "2|", "3|"].allSatisfy { source in (0..<4).allSatisfy { keys.contains("\($0)/\(source)") } }
        }
        try await produce(
            cluster,
            stream.filter { !leadTopics.contains($0.topic) }.map { (prefix + $0.topic, $0.partition, $0.json) }
        )
        let expected = expectedOverallKeys
        let kpi = try await read(cluster, topic: prefix + "cs.kpi") { records in
            expected.isSubset(of: Set(finals(records).keys))
        }
        let reports = try await read(cluster, topic: prefix + "cs.opinion-report") { $0.count >= 2 }
        // Every instance took part (range assignment: 2, 1 and 1 of the 4 partitions).
        #expect(running.allSatisfy { $0.loop.counts.recordsIn > 0 })
        for instance in running { try await instance.stop() }
        var byKey: [String: [UInt8]] = [:]
        for record in reports { byKey[record.keyString ?? ""] = record.value }
        return (finals(kpi), byKey)
    }

    @Test func oneAndThreeInstancesPublishIdenticalFinals() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: Self.quiet)
        defer { cluster.shutdown() }
        let stream = Self.mixedStream(count: 6000)
        let one = try await Self.run(instances: 1, cluster: cluster, prefix: "one.", stream: stream)
        let three = try await Self.run(instances: 3, cluster: cluster, prefix: "three.", stream: stream)
        #expect(Self.expectedOverallKeys.isSubset(of: Set(one.kpi.keys)))
        #expect(one.kpi.count > 100)
        // Every window both runs made final is byte-for-byte the same.
        #expect(Set(one.kpi.keys) == Set(three.kpi.keys))
        let different = one.kpi.keys.filter { three.kpi[$0] != one.kpi[$0] }.sorted()
        #expect(different.isEmpty, "\(different.count) finals differ, e.g. \(different.prefix(5))")
        if let key = different.first, let a = one.kpi[key], let b = three.kpi[key],
            let x = try? TandemJSON.decode(KPISnapshot.self, from: a),
            let y = try? TandemJSON.decode(KPISnapshot.self, from: b)
        {
            let fields = KPICounters.Field.allCases.filter { x.counts.counters[$0] != y.counts.counters[$0] }
            Issue.record("\(key): \(fields.map { "\($0.name) \(x.counts.counters[$0]) vs \(y.counts.counters[$0])" })")
        }
        #expect(one.reports == three.reports, "the opinion reports differ")
        #expect(one.reports.keys.sorted() == ["hour/2026-11-25T08:00:00.000Z", "rolling24h/2026-11-25T09:00:00.000Z"])
        // Sanity: the hour's overall record counted every contact of the stream.
        let hour = try TandemJSON.decode(
            KPISnapshot.self,
            from: try #require(one.kpi["hour/\(Timestamp.format(base)!)/overall/all"])
        )
        #expect(hour.counts.counters[.leadsCreated] == 120)
        #expect(hour.counts.counters[.opinion] == 1000)
        let mid = try TandemJSON.decode(
            KPISnapshot.self,
            from: try #require(one.kpi["hour/\(Timestamp.format(base)!)/tier/mid"])
        )
        // Leads at every 50th event go to customers 0, 10, 20, 30 in turn; only c10 is mid: 120 / 4.
        #expect(mid.counts.counters[.leadsCreated] == 30)
    }

    @Test func aQuietStreamStillFinalisesAfterGracePlusIdleTimeout() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: Self.quiet)
        defer { cluster.shutdown() }
        try Self.createTopics(cluster, prefix: "")
        let instance = try Instance(
            cluster,
            prefix: "",
            group: "kpi-\(UUID().uuidString.prefix(6))",
            rules: Self.rules(minuteGrace: 2, idleSeconds: 1)
        )
        // One event per partition one second before the end of the minute now in progress; then nothing.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let minuteEnd = (now / 60_000 + 1) * 60_000
        let time = Date(timeIntervalSince1970: Double(minuteEnd - 1000) / 1000)
        try await Self.produce(
            cluster,
            (0..<Self.partitions).map { ("cs.interactions", $0, interaction("q\($0)", at: time, customer: "c\($0)")) }
        )
        let key =
            "minute/\(Timestamp.format(Date(timeIntervalSince1970: Double(minuteEnd - 60_000) / 1000))!)/overall/all"
        let started = ContinuousClock.now
        let kpi = try await Self.read(cluster, topic: "cs.kpi", timeout: .seconds(60)) { Self.finals($0)[key] != nil }
        let final = try TandemJSON.decode(KPISnapshot.self, from: try #require(Self.finals(kpi)[key]))
        #expect(final.counts.counters[.inquiry] == 4)
        // No input moved event time: the wall clock did, after 1 s idle + 1 s to the end + 2 s grace.
        #expect(ContinuousClock.now - started >= .seconds(3))
        try await instance.stop()
    }
}

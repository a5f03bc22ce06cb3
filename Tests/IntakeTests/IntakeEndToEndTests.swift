import Foundation
import Intake
import Kafka
import Logging
import Models
import ServiceKit
import TestSupport
import Testing

/// SPEC §2's promise on the embedded broker: every raw record ends as an output, a counted
/// duplicate or a dead letter — exactly once — and every output is normalised and masked.
@Suite("intake on the embedded broker", .timeLimit(.minutes(3)))
struct IntakeEndToEndTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// What a generated raw record should become.
    enum Expected: Hashable {
        case output
        case duplicate
        case deadLetter(String)
    }

    /// 10,000 mixed records: valid ones in every channel (canonical names and aliases, odd case
    /// and spacing), duplicates, and every kind of invalid input.
    static func mixedRecords(count: Int, now: Date) -> [(key: [UInt8]?, value: [UInt8], expected: Expected)] {
        let aliases = [
            "phone", "电话", " Chat ", "webchat", "在线", "WeChat", "weixin", "微信", "app", "sms", "短信", "email", "邮件",
            "store", "门店", "weibo", "微博", "tieba", "贴吧", "zhihu", "知乎", "toutiao", "头条", "wechat_official", "公众号",
            "tv", "电视台", "radio", "电台", "newspaper", "报纸", "12315", "12345", "regulator",
        ]
        let kinds = ["inquiry", "request", "complaint", "follow_up", "outbound", "survey"]
        var generator = SystemRandomNumberGenerator()
        var records: [(key: [UInt8]?, value: [UInt8], expected: Expected)] = []
        var validSoFar: [(key: [UInt8], value: [UInt8])] = []
        let stamp = Timestamp.format(now.addingTimeInterval(-60))!
        let future = Timestamp.format(now.addingTimeInterval(3600))!
        for index in 0..<count {
            let customer = "c-\(index % 997)"
            let eventId = "e-\(index)"
            switch index % 20 {
            case 0 where !validSoFar.isEmpty:
                // An adapter's retry: the same record, so the same key and partition.
                let original = validSoFar.randomElement(using: &generator)!
                records.append((original.key, original.value, .duplicate))
            case 1:
                records.append((Array(customer.utf8), Array("{not json".utf8), .deadLetter("invalid_json")))
            case 2:
                records.append(
                    (Array(customer.utf8), [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d], .deadLetter("invalid_json"))
                )
            case 3:
                records.append((Array(customer.utf8), Array("[1,2,3]".utf8), .deadLetter("not_an_object")))
            case 4:
                let json =
                    #"{"eventId":"\#(eventId)","occurredAt":"\#(future)","channel":"phone","kind":"inquiry","customerId":"\#(customer)"}"#
                records.append((Array(customer.utf8), Array(json.utf8), .deadLetter("invalid")))
            case 5:
                let json =
                    #"{"eventId":"\#(eventId)","occurredAt":"\#(stamp)","channel":"carrier pigeon","kind":"inquiry","customerId":"\#(customer)"}"#
                records.append((Array(customer.utf8), Array(json.utf8), .deadLetter("invalid")))
            case 6:
                let json =
                    #"{"eventId":"\#(eventId)","occurredAt":"\#(stamp)","channel":"phone","kind":"survey","customerId":"\#(customer)","csat":9}"#
                records.append((Array(customer.utf8), Array(json.utf8), .deadLetter("invalid")))
            case 7:
                let json =
                    #"{"eventId":"\#(eventId)","occurredAt":"\#(stamp)","channel":"phone","kind":"inquiry","customerId":42}"#
                records.append((Array(customer.utf8), Array(json.utf8), .deadLetter("invalid_field")))
            case 8 where (index / 20) % 10 == 0:
                let huge = String(repeating: "长", count: 24_000)  // 72 KB of UTF-8: over the 64 KiB limit
                let json =
                    #"{"eventId":"\#(eventId)","occurredAt":"\#(stamp)","channel":"phone","kind":"inquiry","customerId":"\#(customer)","text":"\#(huge)"}"#
                records.append((Array(customer.utf8), Array(json.utf8), .deadLetter("oversized")))
            case 9:
                let json =
                    #"{"eventId":"\#(eventId)","occurredAt":"\#(stamp)","channel":"weibo","kind":"opinion","brand":"own","reach":1200,"sentiment":-0.6,"text":"客服电话13912345611打不通，邮箱 zhang.san@example.com 也没人回"}"#
                let value = Array(json.utf8)
                validSoFar.append((Array(eventId.utf8), value))
                records.append((Array(eventId.utf8), value, .output))
            default:
                let channel = aliases[index % aliases.count]
                let kind = kinds[index % kinds.count]
                let extra = kind == "survey" ? #","csat":\#(1 + index % 5),"nps":\#(index % 11)"# : ""
                let json =
                    #"{"eventId":"\#(eventId)","occurredAt":"\#(stamp)","channel":"\#(channel)","kind":"\#(kind)","customerId":"\#(customer)","topic":" Billing ","signals":["Interest:Plan"],"text":"请回电 139-1234-5611 或 身份证 11010519491231002X"\#(extra)}"#
                let value = Array(json.utf8)
                validSoFar.append((Array(customer.utf8), value))
                records.append((Array(customer.utf8), value, .output))
            }
        }
        return records
    }

    @Test func tenThousandMixedRecordsAreEachAccountedForExactlyOnce() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: Self.quiet)
        defer { cluster.shutdown() }
        for topic in ["cs.interactions.raw", "cs.interactions", "cs.intake.dedup", "cs.deadletter"] {
            try cluster.createTopic(topic, partitions: 4)
        }
        let configuration = ServiceConfiguration(
            service: "intake",
            brokers: cluster.bootstrapServers,
            kafkaProperties: ["fetch.wait.max.ms": "10"],
            groupID: "intake-\(UUID().uuidString.prefix(6))"
        )
        let processor = IntakeProcessor(configuration: configuration, rules: .defaults)
        let loop = try ProcessingLoop(
            configuration: configuration,
            processor: processor,
            deadLetterTopic: "cs.deadletter",
            logger: Self.quiet
        )
        let running = Task { try await loop.run() }

        let records = Self.mixedRecords(count: 10_000, now: Date())
        let producer = try KafkaProducer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers],
            logger: Self.quiet
        )
        var batch = ProducerBatch(reservingCapacity: records.count)
        for record in records { batch.append(topic: "cs.interactions.raw", key: record.key, value: record.value) }
        #expect(try await producer.send(batch).allDelivered)
        await producer.close()

        try await waitUntil("every record processed", timeout: .seconds(120)) {
            loop.counts.recordsIn >= records.count
        }
        #expect(loop.counts.recordsIn == records.count)

        var expectedOutputs = 0
        var expectedDuplicates = 0
        var expectedReasons: [String: Int] = [:]
        for record in records {
            switch record.expected {
            case .output: expectedOutputs += 1
            case .duplicate: expectedDuplicates += 1
            case .deadLetter(let reason): expectedReasons[reason, default: 0] += 1
            }
        }
        let deadLetters = loop.counts.deadLetters.values.reduce(0, +)
        // Nothing lost, nothing twice: every input is an output, a counted duplicate or a dead letter.
        #expect(processor.published + processor.duplicates + deadLetters == records.count)
        #expect(processor.published == expectedOutputs)
        #expect(processor.duplicates == expectedDuplicates)
        #expect(loop.counts.deadLetters == expectedReasons)

        let outputs = try await Self.read(cluster, topic: "cs.interactions", count: expectedOutputs)
        let letters = try await Self.read(cluster, topic: "cs.deadletter", count: deadLetters)
        #expect(outputs.count == expectedOutputs)
        #expect(letters.count == deadLetters)
        let rawPII = ["13912345611", "139-1234-5611", "11010519491231002X", "zhang.san@example.com"]
        for output in outputs {
            let bytes = try #require(output.value)
            let text = String(decoding: bytes, as: UTF8.self)
            for pii in rawPII { #expect(!text.contains(pii)) }
            let interaction = try TandemJSON.decode(Interaction.self, from: bytes)
            #expect(interaction.receivedAt >= interaction.occurredAt)
            if interaction.kind != .opinion {
                #expect(interaction.topic == "billing")
                #expect(interaction.signals == ["interest:plan"])
                #expect(output.keyString == interaction.customerId)
            } else {
                #expect(output.keyString == interaction.eventId)
            }
        }
        // Each dead letter names its reason and points back at its source record.
        var reasons: [String: Int] = [:]
        for letter in letters {
            let dead = try TandemJSON.decode(DeadLetter.self, from: letter.value ?? [])
            reasons[dead.reason, default: 0] += 1
            #expect(dead.sourceTopic == "cs.interactions.raw")
            #expect(dead.service == "intake")
        }
        #expect(reasons == expectedReasons)
        loop.stop()
        try await running.value
    }

    static func read(_ cluster: EmbeddedKafkaCluster, topic: String, count: Int) async throws -> [KafkaRecord] {
        let consumer = try KafkaConsumer(
            configuration: ["bootstrap.servers": cluster.bootstrapServers, "fetch.wait.max.ms": "10"],
            idleEventInterval: .seconds(5),
            logger: quiet
        )
        try consumer.assign((0..<4).map { TopicPartitionOffset(topic: topic, partition: $0, offset: .beginning) })
        var records: [KafkaRecord] = []
        for await event in consumer.events {
            switch event {
            case .records(let batch): records += batch.map(\.record)
            case .idle: break  // five quiet seconds: everything there was has been read
            default: continue
            }
            if records.count >= count || { if case .idle = event { return true } else { return false } }() { break }
        }
        await consumer.close()
        return records
    }
}

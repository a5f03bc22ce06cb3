import Foundation
import Intake
import Kafka
import Models
import ServiceKit
import Testing

/// Drives ``IntakeProcessor`` directly, record by record, as the processing loop does.
///
/// Reads outputs through `ProcessorOutput.records`.
final class Harness {
    static let now: Int64 = 1_795_595_400_000  // 2026-11-25T08:30:00Z
    let processor: IntakeProcessor
    var wallNow: Int64 = Harness.now
    var nextOffset: Int64 = 0

    init(prefix: String = "") {
        processor = IntakeProcessor(
            configuration: ServiceConfiguration(service: "intake", topicPrefix: prefix),
            rules: .defaults
        )
        processor.wallClock = { [unowned self] in self.wallNow }
    }

    /// Processes one record; the records it produced, or the failure it threw.
    func send(
        _ bytes: [UInt8]?,
        partition: Int32 = 0,
        offset: Int64? = nil
    ) -> Result<[ProducerRecord], ProcessingFailure> {
        let offset = offset ?? nextOffset
        nextOffset = max(nextOffset, offset + 1)
        var output = ProcessorOutput()
        let processor = processor
        let result: Result<Void, ProcessingFailure> = withOptional(bytes) { value in
            let record = InputRecord(
                topic: "cs.interactions.raw",
                partition: partition,
                offset: offset,
                timestamp: nil,
                key: nil,
                value: value
            )
            do throws(ProcessingFailure) {
                try processor.process(record, into: &output)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        return result.map { output.records }
    }

    func send(
        _ raw: RawInteraction,
        partition: Int32 = 0,
        offset: Int64? = nil
    ) -> Result<
        [ProducerRecord], ProcessingFailure
    > {
        send(try! TandemJSON.encode(raw), partition: partition, offset: offset)
    }

    func send(json: String, partition: Int32 = 0) -> Result<[ProducerRecord], ProcessingFailure> {
        send(Array(json.utf8), partition: partition)
    }

    /// The one interaction a valid record produces.
    func accept(
        _ raw: RawInteraction,
        partition: Int32 = 0
    ) throws -> (record: ProducerRecord, interaction: Interaction) {
        let records = try send(raw, partition: partition).get()
        try #require(records.count == 1)
        let interaction = try TandemJSON.decode(Interaction.self, from: records[0].value ?? [])
        return (records[0], interaction)
    }

    /// The failure an invalid record produces.
    func reject(_ bytes: [UInt8]?) -> ProcessingFailure? {
        if case .failure(let failure) = send(bytes) { return failure }
        return nil
    }

    func reject(json: String) -> ProcessingFailure? { reject(Array(json.utf8)) }

    /// Runs the processor's tick; intake's tick produces nothing.
    func tick(_ wallNow: Int64) {
        var output = ProcessorOutput()
        processor.tick(wallNow: wallNow, into: &output)
        #expect(output.count == 0)
    }
}

private func withOptional<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

func date(_ millis: Int64) -> Date { Timestamp.date(millisecondsSince1970: millis) }

let hour: Int64 = 3_600_000

/// A valid phone inquiry, `at` ms (default: a minute before the harness's now).
func rawInteraction(
    _ eventId: String = "e-1",
    at millis: Int64 = Harness.now - 60_000,
    channel: String = "phone",
    kind: String = "inquiry",
    customerId: String? = "c-1",
    text: String? = nil
) -> RawInteraction {
    RawInteraction(
        eventId: eventId,
        occurredAt: date(millis),
        channel: channel,
        kind: kind,
        customerId: customerId,
        text: text
    )
}

@Suite("IntakeProcessor")
struct IntakeProcessorTests {
    // MARK: Normalisation

    @Test(
        "channel aliases are normalised",
        arguments: [
            ("phone", Channel.phone), (" Phone ", .phone), ("TELEPHONE", .phone), ("电话", .phone),
            ("WeChat", .wechat), ("weixin", .wechat), ("微信", .wechat), ("wx", .wechat),
            ("online", .chat), ("webchat", .chat), ("Web Chat", .chat), ("在线客服", .chat),
            ("SMS", .sms), ("短信", .sms), ("E-Mail", .email), ("邮件", .email),
            ("App", .app), ("客户端", .app), ("营业厅", .store), ("门店", .store),
            ("微博", .weibo), ("贴吧", .tieba), ("知乎", .zhihu), ("今日头条", .toutiao),
            ("Wechat-Official", .wechatOfficial), ("公众号", .wechatOfficial),
            ("电视台", .tv), ("广播", .radio), ("报纸", .newspaper),
            ("12315", .hotline12315), ("12315热线", .hotline12315), ("12345", .hotline12345),
            ("监管机构", .regulator), ("行业协会", .industryAssociation),
        ]
    )
    func normalisesChannels(alias: String, channel: Channel) throws {
        let harness = Harness()
        let (_, interaction) = try harness.accept(rawInteraction(channel: alias))
        #expect(interaction.channel == channel)
        #expect(interaction.channelGroup == channel.channelGroup)
        #expect(interaction.escalation == channel.isEscalation)
    }

    @Test func groupsAndEscalation() throws {
        let harness = Harness()
        let hotline = try harness.accept(rawInteraction("a", channel: "12315", kind: "complaint")).interaction
        #expect(hotline.channelGroup == .offlineOpinion && hotline.escalation)
        let weibo = try harness.accept(rawInteraction("b", channel: "微博", kind: "opinion", customerId: nil))
            .interaction
        #expect(weibo.channelGroup == .onlineOpinion && !weibo.escalation)
        let chat = try harness.accept(rawInteraction("c", channel: "online")).interaction
        #expect(chat.channelGroup == .contact && !chat.escalation)
    }

    @Test func lowercasesTopicAndSignalsAndStampsReceivedAt() throws {
        let harness = Harness()
        var raw = rawInteraction()
        raw.topic = "Billing"
        raw.signals = ["Churn_Threat", "INTEREST:Plan"]
        raw.department = "after_sales"
        raw.kind = "complaint"
        let (record, interaction) = try harness.accept(raw)
        #expect(interaction.topic == "billing")
        #expect(interaction.signals == ["churn_threat", "interest:plan"])
        #expect(interaction.department == .afterSales)
        #expect(interaction.kind == .complaint)
        #expect(interaction.receivedAt == date(Harness.now))
        #expect(interaction.occurredAt == date(Harness.now - 60_000))
        #expect(record.topic == "cs.interactions")
        #expect(record.partition == nil)
    }

    @Test func outputTopicHasThePrefix() throws {
        let harness = Harness(prefix: "dev.")
        #expect(harness.processor.inputTopics == ["dev.cs.interactions.raw"])
        #expect(try harness.accept(rawInteraction()).record.topic == "dev.cs.interactions")
    }

    @Test func keysByCustomerElseEventId() throws {
        let harness = Harness()
        let customer = try harness.accept(rawInteraction("e-1", customerId: "c-42")).record
        #expect(customer.key == Array("c-42".utf8))
        let post = try harness.accept(rawInteraction("e-2", channel: "weibo", kind: "opinion", customerId: nil)).record
        #expect(post.key == Array("e-2".utf8))
    }

    // MARK: Dead letters

    @Test(
        "malformed payloads get their own reason",
        arguments: [
            ("hello", "invalid_json"),
            ("{\"eventId\": ", "invalid_json"),
            ("{'eventId': 'x'}", "invalid_json"),
            ("", "invalid_json"),
            ("[1, 2]", "not_an_object"),
            ("[]", "not_an_object"),
            ("42", "not_an_object"),
            ("\"a string\"", "not_an_object"),
            ("true", "not_an_object"),
            ("null", "not_an_object"),
        ]
    )
    func malformed(json: String, reason: String) {
        #expect(Harness().reject(json: json)?.reason == reason)
    }

    @Test func invalidUTF8() {
        let failure = Harness().reject([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D])
        #expect(failure?.reason == "invalid_json")
    }

    @Test func noValue() {
        #expect(Harness().reject(nil)?.reason == "invalid_json")
    }

    @Test(
        "a field of the wrong type is named",
        arguments: [
            ("{\"eventId\": 5, \"channel\": \"phone\"}", "eventId"),
            ("{\"eventId\": \"e\", \"csat\": \"five\"}", "csat"),
            ("{\"eventId\": \"e\", \"signals\": \"churn_threat\"}", "signals"),
            ("{\"eventId\": \"e\", \"occurredAt\": \"yesterday 13912345611\"}", "occurredAt"),
            ("{\"eventId\": \"e\", \"answered\": \"yes\"}", "answered"),
        ]
    )
    func wrongTypes(json: String, field: String) throws {
        let failure = try #require(Harness().reject(json: json))
        #expect(failure.reason == "invalid_field")
        #expect(failure.message.contains(field))
        #expect(!failure.message.contains("13912345611"))
    }

    @Test func oversized() {
        let harness = Harness()
        var raw = rawInteraction()
        raw.attributes = ["padding": String(repeating: "x", count: 70_000)]
        #expect(harness.processor.maxRecordBytes == 65_536)
        #expect(harness.reject(try! TandemJSON.encode(raw))?.reason == "oversized")
        harness.processor.maxRecordBytes = 50
        #expect(harness.reject(try! TandemJSON.encode(rawInteraction()))?.reason == "oversized")
        harness.processor.maxRecordBytes = 1_000
        #expect((try? harness.send(rawInteraction()).get())?.count == 1)
    }

    @Test(
        "every broken rule is listed as field: rule",
        arguments: [
            (
                RawInteraction(occurredAt: date(Harness.now), channel: "phone", kind: "inquiry", customerId: "c"),
                "eventId: required"
            ),
            (RawInteraction(eventId: "e", channel: "phone", kind: "inquiry", customerId: "c"), "occurredAt: required"),
            (rawInteraction(at: Harness.now + 10 * 60_000), "occurredAt: future"),
            (rawInteraction(channel: "carrier pigeon"), "channel: enum"),
            (rawInteraction(kind: "gossip"), "kind: enum"),
            (rawInteraction(kind: "complaint", customerId: nil), "customerId: required"),
            (rawInteraction(String(repeating: "e", count: 129)), "eventId: length"),
        ]
    )
    func invalid(raw: RawInteraction, expected: String) throws {
        let failure = try #require(Harness().reject(try TandemJSON.encode(raw)))
        #expect(failure.reason == "invalid")
        #expect(failure.message.contains(expected))
    }

    @Test func invalidMessageListsEveryRuleAndNoValues() throws {
        var raw = rawInteraction(channel: "pigeon-13912345611", customerId: "13912345611")
        raw.csat = 9
        raw.nps = -1
        raw.sentiment = 3
        raw.department = "zhang.san@example.com"
        raw.text = String(repeating: "我", count: 3000)  // 9000 bytes > 8 KiB
        let failure = try #require(Harness().reject(try TandemJSON.encode(raw)))
        #expect(failure.reason == "invalid")
        for rule in [
            "channel: enum", "department: enum", "csat: range", "nps: range", "sentiment: range", "text: length",
        ] {
            #expect(failure.message.contains(rule), "\(rule) in \(failure.message)")
        }
        #expect(!failure.message.contains("13912345611"))
        #expect(!failure.message.contains("zhang.san"))
        #expect(!failure.message.contains("我"))
    }

    // MARK: Deduplication

    @Test func duplicatesWithin24HoursAreDroppedAndCounted() throws {
        let harness = Harness()
        _ = try harness.accept(rawInteraction("e-1", at: Harness.now - 2 * hour))
        #expect(try harness.send(rawInteraction("e-1", at: Harness.now - 2 * hour)).get().isEmpty)
        #expect(try harness.send(rawInteraction("e-1", at: Harness.now - 1 * hour)).get().isEmpty)
        #expect(harness.processor.duplicates == 2)
        // Another partition has its own window.
        _ = try harness.accept(rawInteraction("e-1", at: Harness.now - 2 * hour), partition: 1)
        // Another event id is not a duplicate.
        _ = try harness.accept(rawInteraction("e-2", at: Harness.now - 2 * hour))
        #expect(harness.processor.duplicates == 2)
        #expect(harness.processor.published == 3)
    }

    @Test func aRepeatAfter24HoursIsAccepted() throws {
        let harness = Harness()
        _ = try harness.accept(rawInteraction("e-1", at: Harness.now - 30 * hour))
        _ = try harness.accept(rawInteraction("e-1", at: Harness.now - 5 * hour))
        #expect(harness.processor.duplicates == 0)
        // The window now starts at the second occurrence.
        #expect(try harness.send(rawInteraction("e-1", at: Harness.now - 1 * hour)).get().isEmpty)
        #expect(harness.processor.duplicates == 1)
    }

    @Test func aReplayedRecordIsSkippedSilently() throws {
        let harness = Harness()
        let bytes = try TandemJSON.encode(rawInteraction("e-1"))
        #expect(try harness.send(bytes, offset: 7).get().count == 1)
        // Reprocessed after a crash: its dedup entry (offset 7) already reached the changelog.
        #expect(try harness.send(bytes, offset: 7).get().isEmpty)
        #expect(harness.processor.replayed == 1)
        #expect(harness.processor.duplicates == 0)
        // The same event again at a later offset is a duplicate.
        #expect(try harness.send(bytes, offset: 8).get().isEmpty)
        #expect(harness.processor.duplicates == 1)
    }

    @Test func expiryBoundsTheStore() throws {
        let harness = Harness()
        let start = Harness.now - 48 * hour
        for index in 0..<500 {
            _ = try harness.accept(rawInteraction("old-\(index)", at: start + Int64(index)))
        }
        #expect(harness.processor.dedup.count(partition: 0) == 500)
        // 23 h later nothing has expired.
        _ = try harness.accept(rawInteraction("mid", at: start + 23 * hour))
        harness.tick(Harness.now)
        #expect(harness.processor.dedup.count(partition: 0) == 501)
        // 25 h later every old entry has.
        _ = try harness.accept(rawInteraction("new", at: start + 25 * hour))
        harness.tick(Harness.now)
        #expect(harness.processor.dedup.count(partition: 0) == 2)
        // An expired id is accepted again.
        _ = try harness.accept(rawInteraction("old-0", at: start + 25 * hour + 1))
    }

    @Test func expiryAlsoRunsWhileBusy() throws {
        let harness = Harness()
        harness.processor.expiryEvery = 10
        let start = Harness.now - 48 * hour
        for index in 0..<100 { _ = try harness.accept(rawInteraction("old-\(index)", at: start)) }
        for index in 0..<10 { _ = try harness.accept(rawInteraction("new-\(index)", at: start + 25 * hour)) }
        #expect(harness.processor.dedup.count(partition: 0) == 10)
    }

    @Test func idlePartitionsExpireByTheWallClock() throws {
        let harness = Harness()
        _ = try harness.accept(rawInteraction("e-1", at: Harness.now - 60_000))
        harness.tick(Harness.now + 2 * hour)
        #expect(harness.processor.dedup.count(partition: 0) == 1)
        harness.tick(Harness.now + 25 * hour)
        #expect(harness.processor.dedup.count(partition: 0) == 0)
    }

    @Test func restoredEntriesExpireToo() throws {
        let harness = Harness()
        let start = Harness.now - 48 * hour
        harness.processor.dedup.put("restored", start, partition: 3, offset: 1)
        harness.processor.partitionsAssigned([3])
        _ = try harness.accept(rawInteraction("new", at: start + 25 * hour), partition: 3)
        harness.processor.expire()
        #expect(harness.processor.dedup.get("restored", partition: 3) == nil)
        #expect(harness.processor.dedup.count(partition: 3) == 1)
    }

    // MARK: PII

    @Test func textAndAttributesAreMaskedAndNoRawPIILeaves() throws {
        let harness = Harness()
        let pii = ["13912345611", "139 1234 5611", "110101199003071234", "zhang.san@example.com", "18600001234"]
        var raw = rawInteraction(
            text: "客户电话13912345611，备用139 1234 5611，身份证110101199003071234，邮箱zhang.san@example.com"
        )
        raw.attributes = ["callback": "18600001234", "note": "plain"]
        let (record, interaction) = try harness.accept(raw)
        #expect(
            interaction.text
                == "客户电话139****5611，备用139****5611，身份证110101********1234，邮箱z***@example.com"
        )
        #expect(interaction.attributes == ["callback": "186****1234", "note": "plain"])
        let bytes = (record.value ?? []) + (record.key ?? [])
        let text = String(decoding: bytes, as: UTF8.self)
        for value in pii { #expect(!text.contains(value), "\(value) leaked") }
    }

    @Test func opinionPostsWithPIIAreMaskedToo() throws {
        let harness = Harness()
        let raw = rawInteraction(
            "post-1",
            channel: "微博",
            kind: "opinion",
            customerId: nil,
            text: "@运营商 我的号码+86 15912345678被乱扣费！"
        )
        let (record, interaction) = try harness.accept(raw)
        #expect(interaction.text == "@运营商 我的号码+86 159****5678被乱扣费！")
        #expect(!String(decoding: record.value ?? [], as: UTF8.self).contains("15912345678"))
    }
}

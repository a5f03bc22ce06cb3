import Foundation
import Kafka
import Models
import Segmentation
import ServiceKit
import Testing

/// Drives ``SegmentationProcessor`` directly, record by record, as the processing loop does.
final class Harness {
    let processor: SegmentationProcessor
    var wallNow: Int64 = ms(2026, 11, 25)
    var nextOffset: [Int32: Int64] = [:]

    init() {
        processor = SegmentationProcessor(
            configuration: ServiceConfiguration(service: "segmentation"),
            rules: .defaults
        )
        let box = WallBox(self)
        processor.wallClock = { _ in box.harness?.wallNow ?? 0 }
    }

    final class WallBox: @unchecked Sendable {
        weak var harness: Harness?
        init(_ harness: Harness) { self.harness = harness }
    }

    /// Processes one record; the segments it published, or the failure it threw.
    func send(
        topic: String,
        _ json: [UInt8]?,
        key: String?,
        partition: Int32 = 0,
        offset: Int64? = nil
    ) -> Result<[CustomerSegment], ProcessingFailure> {
        let offset = offset ?? nextOffset[partition, default: 0]
        nextOffset[partition] = max(nextOffset[partition, default: 0], offset + 1)
        var output = ProcessorOutput()
        let processor = processor
        let keyBytes = key.map { Array($0.utf8) }
        let result: Result<Void, ProcessingFailure> = withOptional(keyBytes) { key in
            withOptional(json) { value in
                do throws(ProcessingFailure) {
                    try processor.process(
                        InputRecord(
                            topic: topic,
                            partition: partition,
                            offset: offset,
                            timestamp: nil,
                            key: key,
                            value: value
                        ),
                        into: &output
                    )
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
        }
        return result.map { Self.segments(output) }
    }

    func account(
        _ event: AccountEvent,
        partition: Int32 = 0,
        offset: Int64? = nil
    ) -> Result<
        [CustomerSegment], ProcessingFailure
    > {
        send(
            topic: "cs.accounts",
            try! TandemJSON.encode(event),
            key: event.customerId,
            partition: partition,
            offset: offset
        )
    }

    func contact(
        _ customer: String,
        at: Int64,
        kind: InteractionKind = .inquiry,
        signals: [String]? = nil,
        partition: Int32 = 0
    ) -> Result<[CustomerSegment], ProcessingFailure> {
        var interaction = Interaction(
            eventId: "e-\(customer)-\(at)",
            occurredAt: date(at),
            receivedAt: date(at),
            channel: .phone,
            kind: kind,
            customerId: customer
        )
        interaction.signals = signals
        return send(topic: "cs.interactions", try! TandemJSON.encode(interaction), key: customer, partition: partition)
    }

    func tick() -> [CustomerSegment] {
        var output = ProcessorOutput()
        processor.tick(wallNow: 0, into: &output)
        return Self.segments(output)
    }

    static func segments(_ output: ProcessorOutput) -> [CustomerSegment] {
        output.records.compactMap { record in
            record.value.flatMap { try? TandemJSON.decode(CustomerSegment.self, from: $0) }
        }
    }
}

private func withOptional<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

func profile(_ customer: String, at: Int64, region: String? = nil, credit: Double? = nil) -> AccountEvent {
    .profile(.init(customerId: customer, at: date(at), region: region, creditScore: credit))
}

func bill(_ customer: String, _ period: String, _ amount: Double, at: Int64) -> AccountEvent {
    .bill(.init(customerId: customer, at: date(at), period: period, amount: amount))
}

@Suite("SegmentationProcessor")
struct SegmentationProcessorTests {
    @Test func oneRecordPerChangeNoneForARepeatedEvent() throws {
        let h = Harness()
        let t0 = ms(2026, 11, 1)
        let first = try h.account(profile("C-1", at: t0, region: "110000", credit: 80)).get()
        #expect(first.map(\.version) == [1])
        #expect(first.first?.regionClass == "tier1")
        #expect(try h.account(profile("C-1", at: t0, region: "110000", credit: 80)).get().isEmpty)
        let billed = try h.account(bill("C-1", "2026-10", 120, at: t0 + day)).get()
        #expect(billed.map(\.version) == [2])
        #expect(billed.first?.arpu == 120)
        #expect(try h.account(bill("C-1", "2026-10", 120, at: t0 + day)).get().isEmpty)
        #expect(try h.contact("C-1", at: t0 + 2 * day).get().isEmpty)
        #expect(h.processor.published == 2)
    }

    @Test func badInputIsADeadLetterWithAClearReason() {
        let h = Harness()
        func failure(_ json: String, topic: String = "cs.accounts", key: String? = "C-1") -> ProcessingFailure? {
            if case .failure(let failure) = h.send(topic: topic, Array(json.utf8), key: key) { return failure }
            return nil
        }
        let at = #""at":"2026-11-01T00:00:00.000Z""#
        let unknown = failure(#"{"type":"refund","customerId":"C-1",\#(at)}"#)
        #expect(unknown?.reason == "invalid_field")
        #expect(unknown?.message.contains("unknown account event type 'refund'") == true)
        #expect(
            failure(#"{"type":"bill","customerId":"C-1",\#(at),"period":"2026/10","amount":1}"#)
                == ProcessingFailure(reason: "invalid", message: "period: must be YYYY-MM with month 01–12")
        )
        #expect(
            failure(#"{"type":"bill","customerId":"C-1",\#(at),"period":"2026-10","amount":-1}"#)
                == ProcessingFailure(reason: "invalid", message: "amount: must be a finite number ≥ 0")
        )
        #expect(failure("not json")?.reason == "invalid_json")
        #expect(failure(#"{"type":"profile","customerId":"C-2",\#(at)}"#)?.reason == "key_mismatch")
        #expect(failure(#"{"type":"bill","customerId":"C-1",\#(at),"period":"2026-10"}"#)?.reason == "invalid_field")
        #expect(h.processor.published == 0)
        // An opinion post about no customer is not segmentation's: ignored, counted.
        let opinion = Interaction(
            eventId: "o-1",
            occurredAt: date(ms(2026, 11, 1)),
            receivedAt: date(ms(2026, 11, 1)),
            channel: .weibo,
            kind: .opinion
        )
        let result = h.send(topic: "cs.interactions", try! TandemJSON.encode(opinion), key: "o-1")
        #expect((try? result.get()) == [])
        #expect(h.processor.ignored == 1)
    }

    @Test func eventsBeforeTheProfileWaitForIt() throws {
        let h = Harness()
        let t0 = ms(2026, 11, 1)
        #expect(try h.account(bill("C-1", "2026-10", 90, at: t0)).get().isEmpty)
        #expect(h.processor.awaitingProfile == 1)
        let first = try h.account(profile("C-1", at: t0 + day)).get()
        #expect(first.first?.arpu == 90)
    }

    @Test func aReprocessedRecordIsAReplay() throws {
        let h = Harness()
        let t0 = ms(2026, 11, 1)
        _ = h.account(profile("C-1", at: t0), offset: 0)
        #expect(try h.account(bill("C-1", "2026-10", 90, at: t0), offset: 1).get().count == 1)
        #expect(try h.account(bill("C-1", "2026-10", 95, at: t0), offset: 1).get().isEmpty)
        #expect(h.processor.replayed == 1)
    }

    @Test func aSilentCustomerCoolsAsOtherCustomersMoveEventTimeOn() throws {
        let h = Harness()
        let t0 = ms(2026, 6, 1)
        _ = h.account(profile("C-quiet", at: t0))
        _ = h.account(profile("C-busy", at: t0))
        // 31 days later only C-busy is heard from: the partition's event time passes C-quiet's deadline.
        let later = try h.contact("C-busy", at: t0 + 31 * day).get()
        #expect(later.map(\.customerId) == ["C-quiet"])
        #expect(later.first?.activity == .cooling)
        #expect(later.first?.asOf == date(t0 + 31 * day))
        let inactive = try h.contact("C-busy", at: t0 + 91 * day).get()
        #expect(inactive.map(\.customerId) == ["C-quiet"])
        #expect(inactive.first?.activity == .inactive)
        #expect(h.processor.publishedByTimers == 2)
    }

    @Test func aQuietPartitionIsMovedOnByTheWallClock() throws {
        let h = Harness()
        let t0 = ms(2026, 6, 1)
        _ = h.account(profile("C-1", at: t0))
        h.wallNow += 29 * day
        #expect(h.tick().isEmpty)
        // 31 days of quiet: event time = t0 + 31 days.
        h.wallNow += 2 * day
        let cooling = h.tick()
        #expect(cooling.map(\.activity) == [.cooling])
        h.wallNow += 60 * day
        #expect(h.tick().map(\.activity) == [.inactive])
    }

    @Test func versionsAlreadyOnTheOutputTailAreNotSentAgain() throws {
        let t0 = ms(2026, 11, 1)
        let events = [
            profile("C-1", at: t0), bill("C-1", "2026-10", 100, at: t0 + day),
            bill("C-1", "2026-11", 300, at: t0 + 2 * day),
        ]
        // The first instance publishes three versions, then dies before its changelog write.
        let first = Harness()
        var published: [[UInt8]] = []
        for (offset, event) in events.enumerated() {
            let segments = try first.account(event, offset: Int64(offset)).get()
            published += try segments.map { try TandemJSON.encode($0) }
        }
        #expect(published.count == 3)
        // The next instance reads the tail, then replays the inputs: nothing is sent twice.
        let second = Harness()
        for (offset, bytes) in published.enumerated() {
            bytes.withUnsafeBytes { value in
                second.processor.restoreOutputTail(
                    InputRecord(
                        topic: "cs.segments",
                        partition: 0,
                        offset: Int64(offset),
                        timestamp: nil,
                        key: nil,
                        value: value
                    )
                )
            }
        }
        second.processor.partitionsAssigned([0])
        for (offset, event) in events.enumerated() {
            #expect(try second.account(event, offset: Int64(offset)).get().isEmpty)
        }
        #expect(second.processor.alreadyPublished == 3)
        // The next change is version 4.
        let next = try second.account(profile("C-1", at: t0 + 3 * day, credit: 90), offset: 3).get()
        #expect(next.map(\.version) == [4])
    }
}

import Foundation
import KPI
import Models
import ServiceKit
import Testing

/// The processor without Kafka: windows, grace, late events, finals, idle partitions, the tier
/// join and repeat contacts, with hand-computed numbers.
@Suite("KPI processor")
struct KPIProcessorTests {
    @Test func dayWindowsRunMidnightToMidnightInShanghai() {
        let calendar = WindowCalendar(timeZone: TimeZone(identifier: "Asia/Shanghai")!)
        // 2026-11-25T15:59:59Z is 23:59:59 in Shanghai: the day began at 2026-11-24T16:00Z.
        let day = calendar.window(.day, containing: ms(base) + 7 * 3_600_000 + 59 * 60_000 + 59_000)
        #expect(day.start == ms(base) - 16 * 3_600_000)
        #expect(day.end == ms(base) + 8 * 3_600_000)
        let next = calendar.window(.day, containing: day.end)
        #expect(next.start == day.end)
        let minute = calendar.window(.minute, containing: ms(base) + 61_000)
        #expect(minute.start == ms(base) + 60_000 && minute.end == ms(base) + 120_000)
        let hour = calendar.window(.hour, containing: ms(base) + 3_599_999)
        #expect(hour.start == ms(base) && hour.end == ms(base) + 3_600_000)
        // A zone at UTC+5:30 has its hours at :30 UTC.
        let india = WindowCalendar(timeZone: TimeZone(identifier: "Asia/Kolkata")!)
        #expect(india.window(.hour, containing: ms(base)).start == ms(base) - 30 * 60_000)
    }

    @Test func aFixedBatchGivesTheHandComputedFinalAfterGrace() throws {
        let harness = Harness(wall: ms(base))
        let topic = "cs.interactions"
        // Minute 08:00: three phone calls (answered 10 s, answered 30 s, abandoned after 40 s)
        // and a chat complaint, two of them on queue vip.
        harness.send(
            topic,
            interaction(
                "e1",
                at: base.addingTimeInterval(5),
                extra: #","answered":true,"waitSeconds":10,"queue":"vip""#
            )
        )
        harness.send(
            topic,
            interaction(
                "e2",
                at: base.addingTimeInterval(15),
                extra: #","answered":true,"waitSeconds":30,"queue":"vip""#
            )
        )
        harness.send(
            topic,
            interaction("e3", at: base.addingTimeInterval(25), extra: #","answered":false,"waitSeconds":40"#)
        )
        harness.send(topic, interaction("e4", at: base.addingTimeInterval(35), channel: "chat", kind: "complaint"))
        harness.tick()
        #expect(try harness.finals().isEmpty)
        // 08:06:01 is past 08:01 + 5 min of grace: the minute window is final at the next tick.
        harness.send(topic, interaction("e5", at: base.addingTimeInterval(361)))
        harness.tick()
        let finals = try harness.finals()
        let start = Timestamp.format(base)!
        let overall = try #require(finals["minute/\(start)/overall/all"])
        #expect(overall.counts.counters[.contacts] == 4)
        #expect(overall.counts.counters[.offered] == 3)
        #expect(overall.kpis.answerRate == 2.0 / 3)
        #expect(overall.kpis.abandonRate == 1.0 / 3)
        #expect(overall.kpis.serviceLevel == 1.0 / 3)  // only the 10 s wait is within 20 s
        #expect(overall.kpis.asaSeconds == 20)
        #expect(overall.kpis.complaintRate == 0.25)
        #expect(overall.kpis.csatMean == nil)
        #expect(overall.definitions.serviceLevelSeconds == 20)
        #expect(overall.definitions.graceSeconds == 300)
        #expect(overall.end == base.addingTimeInterval(60))
        #expect(finals["minute/\(start)/channel/phone"]?.counts.counters[.offered] == 3)
        #expect(finals["minute/\(start)/channel/chat"]?.counts.counters[.complaints] == 1)
        #expect(finals["minute/\(start)/queue/vip"]?.kpis.answerRate == 1)
        #expect(finals["minute/\(start)/tier/unknown"]?.counts.counters[.contacts] == 4)
        // Exactly the overall, two channels, a tier and a queue; the 08:06 minute is still open.
        #expect(finals.count == 5)
        #expect(harness.processor.finalWindows == 1)
    }

    @Test func anEventPastGraceIsDeadLetteredAsLate() throws {
        let harness = Harness(wall: ms(base))
        harness.send("cs.interactions", interaction("e1", at: base))
        harness.send("cs.interactions", interaction("e2", at: base.addingTimeInterval(400)))
        harness.tick()
        #expect(try harness.finals().count > 0)
        harness.send("cs.interactions", interaction("late", at: base.addingTimeInterval(30)))
        let failure = try #require(harness.failures.last)
        #expect(failure.reason == "late")
        #expect(failure.message.contains("minute"))
        #expect(failure.message.contains("counted in the hour, day"))
        #expect(harness.processor.late == 1)
    }

    @Test func aQuietPartitionStillFinalisesAfterGracePlusIdleTimeout() throws {
        let harness = Harness(wall: ms(base) + 10_000)
        harness.send("cs.interactions", interaction("e1", at: base.addingTimeInterval(10)))
        // No more input. 30 s idle + the rest of the minute and 5 min of grace: not yet at 330 s…
        harness.wall += 330_000
        harness.tick()
        #expect(try harness.finals().isEmpty)
        // …final once the wall clock has moved event time past 08:01 + 300 s (= 08:00:10 + 351 s).
        harness.wall += 21_000
        harness.tick()
        let finals = try harness.finals()
        #expect(finals["minute/\(Timestamp.format(base)!)/overall/all"]?.counts.counters[.inquiry] == 1)
    }

    @Test func openWindowsPublishThrottledNonFinalSnapshots() throws {
        let harness = Harness(wall: ms(base))
        harness.send("cs.interactions", interaction("e1", at: base))
        harness.tick()
        let first = try harness.records(KPISnapshot.self, topic: "cs.kpi")
        #expect(!first.isEmpty && first.allSatisfy { !$0.final })
        harness.send("cs.interactions", interaction("e2", at: base.addingTimeInterval(1)))
        harness.wall += 1000
        harness.tick()
        // Within the 10 s minute throttle: nothing new.
        #expect(try harness.records(KPISnapshot.self, topic: "cs.kpi").count == first.count)
        harness.wall += 10_000
        harness.tick()
        let minute = try harness.records(KPISnapshot.self, topic: "cs.kpi").filter {
            $0.window == .minute && $0.dimension == .overall
        }
        #expect(minute.last?.counts.counters[.inquiry] == 2)
    }

    @Test func withThrottleZeroEveryBatchEndsWithAnUpdateWithoutWaitingForTheTick() throws {
        var rules = Rules.defaults
        rules.kpi.windows.minute.updateThrottleSeconds = 0
        let harness = Harness(rules: rules, wall: ms(base))
        func minuteOverall() throws -> [KPISnapshot] {
            try harness.records(KPISnapshot.self, topic: "cs.kpi").filter {
                $0.window == .minute && $0.dimension == .overall
            }
        }
        // No tick at all: each record is a batch, and its end sends the partial and the snapshot.
        harness.send("cs.interactions", interaction("e1", at: base))
        #expect(try minuteOverall().last?.counts.counters[.inquiry] == 1)
        harness.send("cs.interactions", interaction("e2", at: base.addingTimeInterval(1), kind: "complaint"))
        let snapshots = try minuteOverall()
        #expect(snapshots.count == 2)
        #expect(snapshots.last?.counts.counters[.contacts] == 2)
        #expect(snapshots.allSatisfy { !$0.final })
        // The hour keeps its 60 s throttle: one update so far, from the first batch.
        let hour = try harness.records(KPISnapshot.self, topic: "cs.kpi").filter {
            $0.window == .hour && $0.dimension == .overall
        }
        #expect(hour.count == 1)
        // Finals are still made once, on the tick past end + grace.
        harness.send("cs.interactions", interaction("e3", at: base.addingTimeInterval(400)))
        harness.tick()
        let finals = try harness.finals()
        #expect(finals["minute/\(Timestamp.format(base)!)/overall/all"]?.counts.counters[.contacts] == 2)
        #expect(harness.processor.finalWindows == 1)
    }

    @Test func aReplayedRecordIsNotCountedTwice() throws {
        let harness = Harness(wall: ms(base))
        harness.send("cs.interactions", interaction("e1", at: base), offset: 7)
        harness.send("cs.interactions", interaction("e1", at: base), offset: 7)
        harness.send("cs.interactions", interaction("e2", at: base.addingTimeInterval(400)), offset: 8)
        harness.tick()
        let finals = try harness.finals()
        #expect(finals["minute/\(Timestamp.format(base)!)/overall/all"]?.counts.counters[.inquiry] == 1)
    }

    @Test func tierComesFromTheSegmentsTopic() throws {
        let harness = Harness(wall: ms(base))
        harness.send("cs.segments", #"{"customerId":"c1","tier":"high","valueScore":88,"other":{"x":1}}"#)
        harness.send("cs.interactions", interaction("e1", at: base))
        harness.send("cs.interactions", interaction("e2", at: base, customer: "c2"))
        harness.send("cs.segments", #"{"customerId":"c3","tier":"platinum"}"#)
        #expect(harness.failures.map(\.reason) == ["invalid"])
        harness.send("cs.interactions", interaction("e3", at: base.addingTimeInterval(400)))
        harness.tick()
        let finals = try harness.finals()
        let start = Timestamp.format(base)!
        #expect(finals["minute/\(start)/tier/high"]?.counts.counters[.contacts] == 1)
        #expect(finals["minute/\(start)/tier/unknown"]?.counts.counters[.contacts] == 1)
    }

    /// c1 on billing on days 0, 3 and 12 and on plan on day 12; c2 on billing on day 3.
    /// Only c1's day-3 billing contact follows one within 7 days: 1 repeat of 5.
    @Test func repeatContactsOverSevenDays() throws {
        let harness = Harness(wall: ms(base))
        let day = 86_400.0
        let contacts: [(String, Double, String)] = [
            ("c1", 0, "billing"), ("c2", 3, "billing"), ("c1", 3, "billing"), ("c1", 12, "billing"), ("c1", 12, "plan"),
        ]
        for (index, (customer, days, topic)) in contacts.enumerated() {
            harness.send(
                "cs.interactions",
                interaction(
                    "e\(index)",
                    at: base.addingTimeInterval(days * day),
                    customer: customer,
                    extra: #","topic":"\#(topic)""#
                )
            )
        }
        var base = KPICounters()
        for (key, cell) in harness.processor.cells.cells(partition: 0)
        where key.size == .day && key.dimension == .overall {
            base.merge(cell.counters)
        }
        #expect(base[.repeatBase] == 5)
        #expect(base[.repeatContacts] == 1)
        #expect(KPIFormulas.rates(base).observedFcr == 0.8)
    }

    @Test func leadsOutcomesAndSuppressionsAreCountedWithTheirTier() throws {
        let harness = Harness(wall: ms(base))
        let at = Timestamp.format(base.addingTimeInterval(1))!
        harness.send("cs.segments", #"{"customerId":"c1","tier":"mid"}"#)
        harness.send(
            "cs.lead-suppressions",
            #"{"suppressionId":"s1","customerId":"c1","occurredAt":"\#(at)","type":"plan_fit","reason":"frequency_cap","triggerEventId":"e0"}"#
        )
        harness.send("cs.lead-outcomes", #"{"leadId":"l1","customerId":"c1","at":"\#(at)","outcome":"contacted"}"#)
        harness.send("cs.lead-outcomes", #"{"leadId":"l1","customerId":"c1","at":"\#(at)","outcome":"accepted"}"#)
        harness.send("cs.lead-outcomes", #"{"leadId":"l1","customerId":"c1","at":"\#(at)","outcome":"maybe"}"#)
        #expect(harness.failures.map(\.reason) == ["invalid"])
        harness.send("cs.interactions", interaction("e3", at: base.addingTimeInterval(400)))
        harness.tick()
        // The lead topics' event time is still 08:00:01: the minute stays open for them…
        #expect(try harness.finals().isEmpty)
        // …until they have been quiet for the idle timeout and the wall clock moved them past its grace.
        harness.wall += 400_000
        harness.tick()
        let finals = try harness.finals()
        let mid = try #require(finals["minute/\(Timestamp.format(base)!)/tier/mid"])
        #expect(mid.counts.counters[.leadsSuppressed] == 1)
        #expect(mid.counts.counters.tallies(prefix: KPICounts.suppressionPrefix) == ["frequency_cap": 1])
        #expect(mid.kpis.conversion == 1)
        let json = String(decoding: try TandemJSON.encode(mid), as: UTF8.self)
        #expect(json.contains(#""suppressedByReason":{"frequency_cap":1}"#))
    }

    @Test func badInputIsDeadLetteredNeverCrashes() {
        let harness = Harness(wall: ms(base))
        harness.send("cs.interactions", "{not json")
        harness.send("cs.interactions", #"{"eventId":"x","channel":"phone","kind":"inquiry"}"#)
        harness.send("cs.interactions", interaction("e", at: base, channel: "pigeon"))
        harness.send("cs.leads", "[]")
        harness.send("cs.kpi.partials", #"{"type":"partial"}"#)
        #expect(harness.failures.map(\.reason) == ["invalid_json", "invalid", "invalid", "invalid", "invalid"])
    }
}

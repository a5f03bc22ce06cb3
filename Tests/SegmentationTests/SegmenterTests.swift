import Foundation
import Models
import Segmentation
import ServiceKit
import Testing

/// Milliseconds of a UTC date, computed with Foundation's calendar (not the code under test).
func ms(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0) -> Int64 {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let date = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour))!
    return Int64(date.timeIntervalSince1970) * 1000
}

func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }

let day: Int64 = 86_400_000

/// The default rules' segmenter and small event builders.
final class Fixture {
    var segmenter = Segmenter(rules: Rules.defaults.segmentation)
    var state = CustomerProfile()
    let customer = "C-1"

    func profile(
        at: Int64,
        region: String? = nil,
        joined: Int64? = nil,
        credit: Double? = nil,
        influence: Double? = nil,
        points: Int? = nil,
        plan: String? = nil
    ) throws -> CustomerSegment? {
        try segmenter.apply(
            .profile(
                .init(
                    customerId: customer,
                    at: date(at),
                    region: region,
                    joinedAt: joined.map(date),
                    creditScore: credit,
                    influence: influence,
                    points: points,
                    planId: plan
                )
            ),
            to: &state
        )
        return segmenter.segment(of: &state, customerId: customer)
    }

    func bill(_ period: String, _ amount: Double, at: Int64) throws -> CustomerSegment? {
        try segmenter.apply(
            .bill(.init(customerId: customer, at: date(at), period: period, amount: amount)),
            to: &state
        )
        return segmenter.segment(of: &state, customerId: customer)
    }

    func purchase(_ amount: Double, product: String = "P-1", at: Int64) throws -> CustomerSegment? {
        try segmenter.apply(
            .purchase(.init(customerId: customer, at: date(at), amount: amount, productId: product)),
            to: &state
        )
        return segmenter.segment(of: &state, customerId: customer)
    }

    func contact(
        _ kind: String = "inquiry",
        at: Int64,
        signals: [String] = [],
        answered: Bool? = nil
    ) -> CustomerSegment? {
        segmenter.apply(
            Contact(customerId: customer, at: at, kind: kind, answered: answered, signals: signals),
            to: &state
        )
        return segmenter.segment(of: &state, customerId: customer)
    }

    func advance(to time: Int64) -> CustomerSegment? {
        segmenter.advance(&state, to: time)
        return segmenter.segment(of: &state, customerId: customer)
    }

    func evaluate() -> Segmenter.Breakdown {
        segmenter.evaluate(state, previousTier: state.version == 0 ? nil : state.published.tier)
    }
}

@Suite("Segmenter: ARPU, score, tiers")
struct ValueTests {
    @Test func arpuIsTheMeanOfTheLastThreeBillsByPeriod() throws {
        let f = Fixture()
        _ = try f.profile(at: ms(2026, 1, 1))
        // Four bills, arriving out of order: ARPU takes the three latest periods.
        _ = try f.bill("2026-03", 180.00, at: ms(2026, 4, 1))
        _ = try f.bill("2026-01", 100.00, at: ms(2026, 2, 1))
        _ = try f.bill("2026-04", 217.20, at: ms(2026, 5, 1))
        let segment = try #require(try f.bill("2026-02", 150.00, at: ms(2026, 3, 1)))
        // (150.00 + 180.00 + 217.20) / 3 = 547.20 / 3 = 182.40
        #expect(segment.arpu == 182.40)
        #expect(segment.reasons.contains { $0.hasPrefix("ARPU 182.40 over 3 bills; region tier3 coefficient 1;") })
    }

    @Test func aCorrectedBillReplacesItsPeriodAndTheSameBillAgainChangesNothing() throws {
        let f = Fixture()
        _ = try f.profile(at: ms(2026, 1, 1))
        _ = try f.bill("2026-01", 100, at: ms(2026, 2, 1))
        let first = try #require(try f.bill("2026-02", 200, at: ms(2026, 3, 1)))
        #expect(first.arpu == 150)
        // The same bill again: no state change, no record.
        #expect(try f.bill("2026-02", 200, at: ms(2026, 3, 1)) == nil)
        // A corrected February bill: (100 + 110) / 2 = 105.
        let corrected = try #require(try f.bill("2026-02", 110, at: ms(2026, 3, 2)))
        #expect(corrected.arpu == 105)
        #expect(corrected.version == first.version + 1)
        #expect(corrected.changed.contains("arpu"))
    }

    @Test func theSameCustomerScoresHigherWhereIncomesAreLower() throws {
        // ARPU 182.40, credit 80, influence 40, joined 5 years before.
        func segment(region: String) throws -> CustomerSegment {
            let f = Fixture()
            _ = try f.profile(
                at: ms(2026, 6, 1),
                region: region,
                joined: ms(2021, 6, 10),
                credit: 80,
                influence: 40
            )
            _ = try f.bill("2026-03", 150.00, at: ms(2026, 6, 10))
            _ = try f.bill("2026-04", 180.00, at: ms(2026, 6, 10))
            return try #require(try f.bill("2026-05", 217.20, at: ms(2026, 6, 10)))
        }
        // Shanghai, tier1 (1.3): 50 × (182.40 / 1.3 / 300) = 23.385; credit 20 × 0.8 = 16;
        // influence 15 × 0.4 = 6; tenure 60 months = 5 years: 15 × 5/10 = 7.5. Sum 52.885 → 52.9, mid.
        let shanghai = try segment(region: "310000")
        #expect(shanghai.regionClass == "tier1")
        #expect(shanghai.regionCoefficient == 1.3)
        #expect(shanghai.score == 52.9)
        #expect(shanghai.tier == .mid)
        #expect(shanghai.servicePolicy.queue == "priority")
        // Shigatse, Tibet (540200: no entry of its own or its prefecture, province 540000 → rural 0.7):
        // 50 × (182.40 / 0.7 / 300) = 43.429; + 16 + 6 + 7.5 = 72.929 → 72.9, high.
        let shigatse = try segment(region: "540200")
        #expect(shigatse.regionClass == "rural")
        #expect(shigatse.score == 72.9)
        #expect(shigatse.tier == .high)
        #expect(
            shigatse.servicePolicy
                == .init(queue: "vip", dedicatedAccountManager: true, priority: 1, crossRegionService: true)
        )
        let reason = try #require(shigatse.reasons.first { $0.hasPrefix("ARPU") })
        #expect(
            reason
                == "ARPU 182.40 over 3 bills; region rural coefficient 0.7; points: ARPU 43.4/50, credit 16.0/20, "
                + "influence 6.0/15, tenure 5.0 years 7.5/15; score 72.9 ≥ 70 → high"
        )
    }

    @Test func tenureCountsWholeMonths() throws {
        let f = Fixture()
        // Joined 2020-01-15; on 2025-01-14 that is 59 whole months, on 2025-01-15 60.
        _ = try f.profile(at: ms(2025, 1, 14), joined: ms(2020, 1, 15))
        #expect(f.evaluate().tenureYears == 59.0 / 12)
        _ = f.advance(to: ms(2025, 1, 15))
        #expect(f.evaluate().tenureYears == 5)
    }

    /// Score = 50 (ARPU 300 in a tier3 region: all the ARPU points) + 0.2 × credit.
    @Test func aScoreHoveringAtTheHighThresholdDoesNotFlap() throws {
        let f = Fixture()
        _ = try f.bill("2026-01", 300, at: ms(2026, 2, 1))
        let first = try #require(try f.profile(at: ms(2026, 2, 2), credit: 100))
        #expect(first.score == 70 && first.tier == .high)
        // 69.0 and 68.0: within 2 points below 70, the customer stays high.
        let dip = try #require(try f.profile(at: ms(2026, 2, 3), credit: 95))
        #expect(dip.score == 69 && dip.tier == .high)
        #expect(dip.changed == ["score"])
        #expect(dip.reasons.last?.hasSuffix("score 69.0 within the 2-point hysteresis of 70 → stays high") == true)
        #expect(try f.profile(at: ms(2026, 2, 4), credit: 100)?.tier == .high)
        #expect(try f.profile(at: ms(2026, 2, 5), credit: 90)?.tier == .high)
        // 67.8 < 68: down to mid.
        let down = try #require(try f.profile(at: ms(2026, 2, 6), credit: 89))
        #expect(down.score == 67.8 && down.tier == .mid)
        #expect(down.changed.contains("tier") && down.changed.contains("servicePolicy"))
        // Back at 70.0: below 72, still mid; 71.8 still mid; 72.0 high.
        #expect(try f.profile(at: ms(2026, 2, 7), credit: 100)?.tier == .mid)
        _ = try f.profile(at: ms(2026, 2, 8), influence: 12)  // 70 + 15 × 0.12 = 71.8
        #expect(f.state.published.tier == .mid)
        let up = try #require(try f.profile(at: ms(2026, 2, 9), influence: 13.4))  // 70 + 2.01 = 72.01 → 72.0
        #expect(up.score == 72 && up.tier == .high)
    }

    /// Score = 30 (influence 100: 15; tenure 10 years: 15) + 0.2 × credit; no bills.
    @Test func aScoreHoveringAtTheMidThresholdDoesNotFlap() throws {
        let f = Fixture()
        let joined = ms(2016, 1, 1)
        let first = try #require(try f.profile(at: ms(2026, 1, 1), joined: joined, credit: 50, influence: 100))
        #expect(first.score == 40 && first.tier == .mid)
        #expect(try f.profile(at: ms(2026, 1, 2), credit: 45)?.tier == .mid)  // 39
        #expect(try f.profile(at: ms(2026, 1, 3), credit: 40)?.tier == .mid)  // 38
        #expect(try f.profile(at: ms(2026, 1, 4), credit: 35)?.tier == .low)  // 37
        #expect(try f.profile(at: ms(2026, 1, 5), credit: 50)?.tier == .low)  // 40
        #expect(try f.profile(at: ms(2026, 1, 6), credit: 55)?.tier == .low)  // 41
        #expect(try f.profile(at: ms(2026, 1, 7), credit: 60)?.tier == .mid)  // 42
    }
}

@Suite("Segmenter: RFM")
struct RFMTests {
    /// `count` purchases totalling `amount`, one a day up to `last`, judged `recencyDays` after `last`.
    static func rfm(recencyDays: Int, count: Int, amount: Double) throws -> CustomerSegment.RFM? {
        let f = Fixture()
        let last = ms(2026, 6, 1)
        _ = try f.profile(at: last - Int64(count) * day)
        let each = (amount / Double(count) * 100).rounded() / 100
        for index in 0..<count {
            let share = index == count - 1 ? amount - each * Double(count - 1) : each
            _ = try f.purchase(share, product: "P-\(index)", at: last - Int64(count - 1 - index) * day)
        }
        _ = f.advance(to: last + Int64(recencyDays) * day)
        return f.evaluate().rfm
    }

    @Test(arguments: [
        (35, 5), (36, 4), (65, 4), (66, 3), (100, 3), (101, 2), (180, 2), (181, 1), (0, 5),
    ])
    func recencyScoreBoundaries(days: Int, score: Int) throws {
        #expect(try Self.rfm(recencyDays: days, count: 1, amount: 10)?.recency == score)
    }

    @Test(arguments: [(1, 1), (3, 1), (4, 2), (9, 2), (10, 3), (13, 3), (14, 4), (19, 4), (20, 5)])
    func frequencyScoreBoundaries(count: Int, score: Int) throws {
        #expect(try Self.rfm(recencyDays: 0, count: count, amount: 10)?.frequency == score)
    }

    @Test(arguments: [
        (299.99, 1), (300.0, 2), (719.99, 2), (720.0, 3), (1499.99, 3), (1500.0, 4), (3599.99, 4), (3600.0, 5),
    ])
    func monetaryScoreBoundaries(amount: Double, score: Int) throws {
        #expect(try Self.rfm(recencyDays: 0, count: 1, amount: amount)?.monetary == score)
    }

    @Test(arguments: [
        // (days since, count, amount) → (R, F, M) and the first segment of the ordered table holding them.
        (0, 14, 1500.0, [5, 4, 4], "champions", "Champions"),
        (70, 14, 100.0, [3, 4, 1], "loyal", "Loyal"),
        (40, 4, 100.0, [4, 2, 1], "potential_loyalist", "Potential Loyalist"),
        (0, 1, 100.0, [5, 1, 1], "new", "New"),
        (40, 1, 100.0, [4, 1, 1], "promising", "Promising"),
        (70, 10, 100.0, [3, 3, 1], "need_attention", "Need Attention"),
        (70, 1, 100.0, [3, 1, 1], "about_to_sleep", "About to Sleep"),
        (200, 14, 1500.0, [1, 4, 4], "cant_lose", "Can't Lose"),
        (120, 10, 100.0, [2, 3, 1], "at_risk", "At Risk"),
        (120, 1, 100.0, [2, 1, 1], "hibernating", "Hibernating"),
        (200, 1, 100.0, [1, 1, 1], "lost", "Lost"),
    ])
    func everyNamedSegment(days: Int, count: Int, amount: Double, scores: [Int], id: String, name: String) throws {
        let rfm = try #require(try Self.rfm(recencyDays: days, count: count, amount: amount))
        #expect([rfm.recency, rfm.frequency, rfm.monetary] == scores)
        #expect(rfm.segment == id)
        #expect(rfm.segmentName == name)
    }

    @Test func frequencyAndMonetaryCountOnly365Days() throws {
        let f = Fixture()
        _ = try f.profile(at: ms(2025, 1, 1))
        _ = try f.purchase(500, at: ms(2025, 1, 1))
        _ = try f.purchase(400, at: ms(2025, 6, 1))
        // On 2026-01-01 (365 days later) both count: 900 → monetary 3, count 2 → frequency 1.
        _ = f.advance(to: ms(2026, 1, 1))
        #expect(f.evaluate().frequencyCount == 2)
        #expect(f.evaluate().monetaryCents == 90_000)
        // A day later the first has left the window.
        _ = f.advance(to: ms(2026, 1, 2))
        #expect(f.evaluate().frequencyCount == 1)
        #expect(f.evaluate().rfm?.monetary == 2)
    }

    @Test func noRFMBeforeTheFirstBillOrPurchase() throws {
        let f = Fixture()
        let segment = try #require(try f.profile(at: ms(2026, 1, 1)))
        #expect(segment.rfm == nil && segment.arpu == nil)
        #expect(segment.tags.spend == "unknown")
    }
}

@Suite("Segmenter: activity and churn risk")
struct ActivityTests {
    @Test func aSilentCustomerTurnsCoolingThenInactive() throws {
        let f = Fixture()
        let t0 = ms(2026, 1, 1)
        let first = try #require(try f.profile(at: t0))
        #expect(first.activity == .active)
        #expect(f.contact(at: t0) == nil)
        // 30 days exactly: still active; the deadline is 1 ms later.
        #expect(f.advance(to: t0 + 30 * day) == nil)
        #expect(f.segmenter.nextDeadline(f.state) == t0 + 30 * day + 1)
        let cooling = try #require(f.advance(to: t0 + 30 * day + 1))
        #expect(cooling.activity == .cooling)
        #expect(cooling.churnRisk == .medium)
        #expect(cooling.changed == ["activity", "churnRisk", "tags.activity"])
        #expect(cooling.reasons.contains("last contact, bill or purchase 30 days ago, more than 30 → cooling"))
        #expect(cooling.reasons.contains("churn risk medium: cooling → medium"))
        #expect(f.advance(to: t0 + 90 * day) == nil)
        let inactive = try #require(f.advance(to: t0 + 90 * day + 1))
        #expect(inactive.activity == .inactive && inactive.churnRisk == .high)
        #expect(inactive.version == cooling.version + 1)
        // Back in touch: active again, low risk.
        let back = try #require(f.contact(at: t0 + 100 * day))
        #expect(back.activity == .active && back.churnRisk == .low)
    }

    @Test func billsAndPurchasesCountAsActivityUnansweredOutboundCallsDoNot() throws {
        let f = Fixture()
        let t0 = ms(2026, 1, 1)
        _ = try f.profile(at: t0)
        #expect(f.contact("outbound", at: t0 + 20 * day, answered: false) == nil)
        #expect(f.contact("opinion", at: t0 + 25 * day) == nil)
        #expect(f.advance(to: t0 + 31 * day)?.activity == .cooling)
        #expect(try f.purchase(10, at: t0 + 32 * day)?.activity == .active)
        #expect(f.advance(to: t0 + 63 * day)?.activity == .cooling)
        #expect(f.contact("outbound", at: t0 + 64 * day, answered: true)?.activity == .active)
    }

    @Test func churnSignalsComplaintsAndTheirWindow() throws {
        let f = Fixture()
        let t0 = ms(2026, 3, 1)
        _ = try f.profile(at: t0)
        // A competitor mention: medium.
        let mention = try #require(f.contact(at: t0 + day, signals: ["competitor_mention"]))
        #expect(mention.churnRisk == .medium)
        #expect(mention.reasons.contains("churn risk medium: competitor_mention signal on 2026-03-02 → medium"))
        // A churn threat: high.
        let threat = try #require(f.contact(at: t0 + 2 * day, signals: ["churn_threat"]))
        #expect(threat.churnRisk == .high)
        // Contacts keep the customer active; 30 days + 1 ms after the mention it leaves the window,
        // the threat a day later.
        _ = f.contact(at: t0 + 20 * day)
        #expect(f.advance(to: t0 + 31 * day + 1) == nil)  // the mention left; the threat still holds high
        let calm = try #require(f.advance(to: t0 + 32 * day + 1))
        #expect(calm.churnRisk == .low)
        #expect(calm.changed == ["churnRisk"])
    }

    @Test func complaintsInTheWindowRaiseTheRisk() throws {
        let f = Fixture()
        let t0 = ms(2026, 3, 1)
        _ = try f.profile(at: t0)
        #expect(f.contact("complaint", at: t0 + day)?.churnRisk == .medium)  // 1 ≥ 1
        #expect(f.contact("complaint", at: t0 + 2 * day) == nil)  // 2: still medium, nothing changed
        let third = try #require(f.contact("complaint", at: t0 + 3 * day))  // 3 ≥ 3
        #expect(third.churnRisk == .high)
        #expect(third.reasons.contains("churn risk high: 3 complaints in 30 days ≥ 3 → high"))
        _ = f.contact(at: t0 + 25 * day)
        // The first complaint leaves the window 30 days + 1 ms after it: 2 left → medium.
        #expect(f.advance(to: t0 + 31 * day + 1)?.churnRisk == .medium)
    }
}

@Suite("Segmenter: tags, bad input, state")
struct TagsAndInputTests {
    @Test func tagsOnEveryAxis() throws {
        let f = Fixture()
        _ = try f.bill("2026-03", 150, at: ms(2026, 4, 1))
        _ = try f.bill("2026-04", 180, at: ms(2026, 5, 1))
        _ = try f.bill("2026-05", 217.2, at: ms(2026, 6, 1))
        _ = try f.purchase(99, product: "P-ROAM", at: ms(2026, 6, 2))
        let segment = try #require(
            try f.profile(at: ms(2026, 6, 3), joined: ms(2021, 1, 1), points: 2400, plan: "P-99")
        )
        // 5 years 5 months; ARPU 182.40 (100–200 upper); 2400 points (2000–5000 silver);
        // P-ROAM and the plan P-99: 2 products, dual.
        #expect(
            segment.tags
                == .init(tenure: "5_to_10y", spend: "upper", loyalty: "silver", activity: "active", products: "dual")
        )
        // The plan bought again as a purchase, and the roaming pack twice: still 2 products.
        _ = try f.purchase(99, product: "P-99", at: ms(2026, 6, 4))
        _ = try f.purchase(99, product: "P-ROAM", at: ms(2026, 6, 5))
        #expect(f.evaluate().productsHeld == 2)
        let third = try #require(try f.purchase(199, product: "P-PHONE", at: ms(2026, 6, 6)))
        #expect(third.tags.products == "multi")
        #expect(third.changed.contains("tags.products"))
    }

    @Test func noSegmentBeforeTheProfileThenAllOfIt() throws {
        let f = Fixture()
        #expect(try f.bill("2026-01", 120, at: ms(2026, 2, 1)) == nil)
        #expect(f.contact("complaint", at: ms(2026, 2, 2)) == nil)
        let first = try #require(try f.profile(at: ms(2026, 2, 3), region: "110000", credit: 70))
        #expect(first.version == 1)
        #expect(first.arpu == 120)
        #expect(first.churnRisk == .medium)
        #expect(first.changed.count == 13)
        #expect(first.reasons.first == "first segment of the customer")
    }

    @Test func aStaleProfileIsIgnored() throws {
        let f = Fixture()
        _ = try f.profile(at: ms(2026, 2, 3), credit: 70)
        #expect(try f.profile(at: ms(2026, 2, 1), credit: 10) == nil)
        #expect(f.state.creditScore == 70)
    }

    @Test func badAccountEventsAreRefusedWithTheirRule() throws {
        let segmenter = Segmenter(rules: Rules.defaults.segmentation)
        var state = CustomerProfile()
        func failure(_ event: AccountEvent) -> ProcessingFailure? {
            do {
                try segmenter.apply(event, to: &state)
                return nil
            } catch {
                return error
            }
        }
        let at = date(ms(2026, 2, 1))
        #expect(
            failure(.bill(.init(customerId: "C-1", at: at, period: "2026-13", amount: 10)))
                == ProcessingFailure(reason: "invalid", message: "period: must be YYYY-MM with month 01–12")
        )
        #expect(
            failure(.bill(.init(customerId: "C-1", at: at, period: "2026-01", amount: -5)))
                == ProcessingFailure(reason: "invalid", message: "amount: must be a finite number ≥ 0")
        )
        #expect(
            failure(.purchase(.init(customerId: "C-1", at: at, amount: 20_000_000, productId: "P")))
                == ProcessingFailure(
                    reason: "invalid",
                    message: "amount: must be at most 10000000 per bill or purchase"
                )
        )
        #expect(state == CustomerProfile())
    }

    @Test func stateRoundTripsThroughItsChangelogEncoding() throws {
        let f = Fixture()
        _ = try f.profile(at: ms(2026, 1, 1), region: "540200", joined: ms(2020, 1, 1), credit: 71.5, plan: "P-1")
        _ = try f.bill("2026-01", 88.8, at: ms(2026, 2, 1))
        _ = try f.purchase(10, product: "P-2", at: ms(2026, 2, 2))
        _ = f.contact("complaint", at: ms(2026, 2, 3), signals: ["churn_threat", "price_complaint"])
        let data = try JSONEncoder().encode([f.state])
        let decoded = try JSONDecoder().decode([CustomerProfile].self, from: data)
        #expect(decoded == [f.state])
        // The changelog's binary form, through the store's codec.
        var bytes: [UInt8] = []
        ProfileBox.codec.encode(ProfileBox(f.state), &bytes)
        #expect(bytes.withUnsafeBytes { ProfileBox.codec.decode($0)?.profile } == f.state)
        #expect(bytes.dropLast().withUnsafeBytes { ProfileBox.codec.decode($0) } == nil)
        #expect(f.state.version == 4)
    }
}

@Suite("Segmenter: number formatting in reasons")
struct DecimalTests {
    @Test(arguments: [
        (182.4, 2, false, "182.40"), (0.0, 1, false, "0.0"), (7.5, 1, false, "7.5"), (43.4286, 1, false, "43.4"),
        (1.3, 2, true, "1.3"), (1.0, 2, true, "1"), (0.85, 2, true, "0.85"), (70.0, 0, false, "70"),
        (0.05, 1, false, "0.1"), (-2.25, 1, false, "-2.3"), (-0.01, 1, false, "0.0"), (1234.5678, 3, false, "1234.568"),
    ])
    func decimals(value: Double, places: Int, trim: Bool, text: String) {
        #expect(Segmenter.decimalForTests(value, places, trim: trim) == text)
    }
}

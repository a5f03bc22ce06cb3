import Foundation
import Models
import Testing

@testable import Simulator

/// 2026-03-15T02:00:00Z, a fixed start so the tests do not depend on the clock.
let testStart = Date(timeIntervalSince1970: 1_773_540_000)

/// The history and then `live` live records.
func generate(
    seed: UInt64 = 42,
    customers: Int = 200,
    live: Int,
    rate: Double = 100,
    invalidShare: Double = 0.005
) -> [SimulatedRecord] {
    var generator = TrafficGenerator(
        seed: seed,
        start: testStart,
        customers: customers,
        rate: rate,
        invalidShare: invalidShare
    )
    var records: [SimulatedRecord] = []
    var liveCount = 0
    while liveCount < live {
        let record = generator.next()
        if !record.isHistory { liveCount += 1 }
        records.append(record)
    }
    return records
}

@Suite struct TrafficGeneratorTests {
    @Test func sameSeedAndStartGiveTheSameBytes() {
        let first = generate(customers: 100, live: 2000)
        let second = generate(customers: 100, live: 2000)
        #expect(first.count == second.count)
        #expect(first == second)
        let other = generate(seed: 43, customers: 100, live: 2000)
        #expect(other != first)
        // Different seeds draw different customers, contacts and texts, not just other ids.
        let values = Set(first.filter { $0.topic == Topics.accounts }.map(\.value))
        let otherValues = Set(other.filter { $0.topic == Topics.accounts }.map(\.value))
        #expect(values.intersection(otherValues).isEmpty)
    }

    @Test func historyComesFirstInOrderThenLiveEventTimesFollowTheRate() {
        let records = generate(customers: 50, live: 1000, rate: 20)
        let history = records.prefix { $0.isHistory }
        #expect(records.dropFirst(history.count).allSatisfy { !$0.isHistory })
        // Catalog first, then profiles, then bills and purchases in event-time order.
        let catalog = history.prefix { $0.topic == Topics.catalog }
        #expect(catalog.count == SimulatedCatalog.products(start: testStart).count)
        let accounts = Array(history.dropFirst(catalog.count))
        #expect(accounts.allSatisfy { $0.topic == Topics.accounts })
        #expect(zip(accounts, accounts.dropFirst()).allSatisfy { $0.eventTime <= $1.eventTime })
        #expect(accounts.allSatisfy { $0.eventTime <= testStart })
        // Live record i happens at start + i / rate.
        let live = records.dropFirst(history.count)
        for (index, record) in live.enumerated() {
            #expect(abs(record.eventTime.timeIntervalSince(testStart) - Double(index) / 20) < 1e-6)
        }
    }

    @Test func everyRecordDecodesAndPassesValidationExceptTheDeliberatelyInvalidOnes() throws {
        let records = generate(live: 10_000)
        var invalid = 0
        var raw = 0
        var eventIds = Set<String>()
        for record in records {
            switch record.topic.name {
            case Topics.catalog.name:
                let product = try TandemJSON.decode(Product.self, from: record.value)
                #expect(product.validationErrors(now: testStart).isEmpty)
                #expect(record.key == product.productId)
            case Topics.accounts.name:
                let event = try TandemJSON.decode(AccountEvent.self, from: record.value)
                #expect(event.validationErrors(now: record.eventTime).isEmpty, "\(event)")
                #expect(record.key == event.customerId)
                #expect(event.at == record.eventTime)
            case Topics.interactionsRaw.name:
                raw += 1
                let decoded = try? TandemJSON.decode(RawInteraction.self, from: record.value)
                if record.isDeliberatelyInvalid {
                    invalid += 1
                    // Intake must refuse it: either the JSON or a rule of the table is broken.
                    if let decoded { #expect(!decoded.validationErrors(now: record.eventTime).isEmpty) }
                    continue
                }
                let interaction = try #require(decoded)
                #expect(interaction.validationErrors(now: record.eventTime).isEmpty, "\(interaction)")
                #expect(record.key == interaction.customerId ?? interaction.eventId)
                #expect(interaction.occurredAt == record.eventTime)
                let eventId = try #require(interaction.eventId)
                #expect(eventIds.insert(eventId).inserted, "eventId \(eventId) repeated")
                // The fast decoder intake uses reads the same record.
                let fast = try record.value.withUnsafeBytes { try FastJSON.decodeRawInteraction($0) }
                #expect(fast == interaction)
            default:
                Issue.record("unexpected topic \(record.topic.name)")
            }
        }
        // 0.5 % of raw interactions by default: ~46 expected of ~9,300; binomial σ ≈ 7.
        let share = Double(invalid) / Double(raw)
        #expect(share > 0.002 && share < 0.008, "invalid share \(share)")
        #expect(generate(live: 3000, invalidShare: 0).allSatisfy { !$0.isDeliberatelyInvalid })
    }

    @Test func theStreamHasEveryChannelKindAndSignalInPlausibleProportions() throws {
        // 3 records a second: 12,000 records are 67 minutes, long enough for follow-ups to come due.
        let all = generate(live: 12_000, rate: 3).filter { $0.topic == Topics.interactionsRaw }
        let records = all.filter { !$0.isDeliberatelyInvalid }
        let interactions = try records.map { try TandemJSON.decode(RawInteraction.self, from: $0.value) }
        let channels = Set(interactions.compactMap(\.normalizedChannel))
        #expect(channels == Set(Channel.allCases), "missing \(Set(Channel.allCases).subtracting(channels))")
        // Adapters' spellings: English aliases and Chinese names, all understood by intake.
        let spellings = Set(interactions.compactMap(\.channel))
        #expect(spellings.contains("微信") && spellings.contains("12315") && spellings.contains("公众号"))
        #expect(interactions.allSatisfy { $0.normalizedChannel != nil })
        let kinds = Set(interactions.compactMap(\.interactionKind))
        #expect(kinds == Set(InteractionKind.allCases))

        let contacts = interactions.filter { $0.normalizedChannel?.channelGroup == .contact }
        let complaints = contacts.filter { $0.kind == "complaint" }.count
        let complaintShare = Double(complaints) / Double(contacts.count)
        #expect(complaintShare > 0.05 && complaintShare < 0.25, "complaint share \(complaintShare)")
        let live = contacts.filter { $0.normalizedChannel?.isLive == true && $0.answered != nil }
        let answerRate = Double(live.filter { $0.answered == true }.count) / Double(live.count)
        #expect(answerRate > 0.6 && answerRate < 0.95, "answer rate \(answerRate)")
        #expect(live.contains { $0.answered == false && ($0.waitSeconds ?? 99) < 5 }, "no short abandon")
        #expect(live.contains { ($0.transfers ?? 0) >= 1 })
        let answered = live.filter { $0.answered == true }
        let resolvedShare = Double(answered.filter { $0.resolved == true }.count) / Double(answered.count)
        #expect(resolvedShare > 0.5 && resolvedShare < 0.9, "resolved share \(resolvedShare)")

        let signals = interactions.flatMap { $0.signals ?? [] }
        for signal in ["churn_threat", "competitor_mention", "decline_marketing", "opt_out", "price_complaint"] {
            #expect(signals.contains(signal), "no \(signal)")
        }
        #expect(signals.contains { $0.hasPrefix("interest:") })

        let surveys = interactions.filter { $0.kind == "survey" }
        #expect(!surveys.isEmpty)
        let ids = Set(interactions.compactMap(\.eventId))
        #expect(surveys.allSatisfy { $0.refersTo != nil && $0.csat != nil && $0.effort != nil && $0.nps != nil })
        // A survey refers to an earlier contact, unless that contact was one of the invalid records.
        let unknownReferents = surveys.filter { !ids.contains($0.refersTo ?? "") }.count
        #expect(unknownReferents <= all.count - records.count)
        #expect(Set(surveys.compactMap(\.csat)) == Set(1...5))
        let escalations = interactions.filter { $0.normalizedChannel?.isEscalation == true }
        #expect(escalations.allSatisfy { $0.kind == "complaint" && $0.customerId != nil })

        let posts = interactions.filter { $0.kind == "opinion" }
        #expect(posts.allSatisfy { $0.customerId == nil && $0.reach != nil && $0.brand != nil })
        let own = posts.filter { $0.brand == "own" }.count
        #expect(Double(own) / Double(posts.count) > 0.4 && Double(own) / Double(posts.count) < 0.7)
        #expect(Set(posts.compactMap(\.brand)).count >= 4)
        #expect(posts.contains { $0.campaignId != nil })
        #expect(posts.contains { $0.sentiment ?? 0 < -0.2 } && posts.contains { $0.sentiment ?? 0 > 0.2 })
        // Some texts carry a phone number or an e-mail address for intake to mask.
        #expect(interactions.contains { $0.text?.contains("@") == true })
        #expect(interactions.contains { $0.text?.contains("联系电话1") == true })
        // A customer who did not get an answer comes back about the same topic.
        var topicsByCustomer: [String: [String]] = [:]
        for contact in contacts { topicsByCustomer[contact.customerId ?? "", default: []].append(contact.topic ?? "") }
        #expect(topicsByCustomer.values.contains { Set($0).count < $0.count })
    }

    @Test func customersGetHistoryBillsAndANewBillEveryMonth() throws {
        // 1 record per 500 s of event time: 8,000 records are 46 days.
        let records = generate(customers: 40, live: 8000, rate: 0.002)
        var bills: [String: [AccountEvent.Bill]] = [:]
        var profiles = Set<String>()
        for record in records where record.topic == Topics.accounts {
            switch try TandemJSON.decode(AccountEvent.self, from: record.value) {
            case .bill(let bill): bills[bill.customerId, default: []].append(bill)
            case .profile(let profile): profiles.insert(profile.customerId)
            case .purchase: break
            }
        }
        #expect(profiles.count == 40)
        for (customer, customerBills) in bills {
            let history = customerBills.filter { $0.at <= testStart }
            let live = customerBills.filter { $0.at > testStart }
            #expect(history.count == 6, "\(customer): \(history.count) history bills")
            #expect(live.count >= 1, "\(customer): no bill after the start")
            // One bill per period, consecutive months.
            let periods = customerBills.map(\.period)
            #expect(Set(periods).count == periods.count)
            #expect(customerBills.allSatisfy { $0.amount > 0 && $0.usage["dataMB"] != nil })
        }
        #expect(bills.count == 40)
    }

    @Test func catalogProductsAreValidAndCoverTheFamilies() {
        let catalog = SimulatedCatalog.products(start: testStart)
        #expect(catalog.allSatisfy { $0.validationErrors(now: testStart).isEmpty })
        #expect(Set(catalog.map(\.family)) == ["plan", "broadband", "addon", "device", "service"])
        #expect(Set(catalog.map(\.productId)).count == catalog.count)
        // One plan goes on sale after the start, one stops being offered.
        #expect(catalog.contains { !$0.isAvailable(at: testStart) && $0.availableFrom > testStart })
        #expect(catalog.contains { $0.availableUntil != nil })
    }

    @Test func shanghaiCivilTimeAgreesWithFoundationsCalendar() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "Asia/Shanghai"))
        // Every ~17 hours over 2000–2040, leap days and year ends included.
        var instant = try #require(Timestamp.parse("2000-01-01T00:00:00Z"))
        let end = try #require(Timestamp.parse("2040-12-31T23:00:00Z"))
        while instant < end {
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: instant)
            let civil = ShanghaiTime.civil(instant)
            #expect(civil.year == parts.year && civil.month == parts.month && civil.day == parts.day)
            let seconds = Double((parts.hour ?? 0) * 3600 + (parts.minute ?? 0) * 60 + (parts.second ?? 0))
            #expect(abs(civil.seconds - seconds) < 0.001)
            let back = ShanghaiTime.date(year: civil.year, month: civil.month, day: civil.day, seconds: civil.seconds)
            #expect(abs(back.timeIntervalSince(instant)) < 0.001)
            instant.addTimeInterval(61_201)
        }
        #expect(ShanghaiTime.daysIn(year: 2024, month: 2) == 29 && ShanghaiTime.daysIn(year: 2100, month: 2) == 28)
    }
}

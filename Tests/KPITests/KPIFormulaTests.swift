import Foundation
import KPI
import Models
import Testing

/// Every KPI formula of SPEC §5 against numbers computed by hand from a small set of contacts.
@Suite("KPI formulas")
struct KPIFormulaTests {
    let counting = KPICounting(rules: Rules.defaults.kpi)

    func raw(_ fields: (inout RawInteraction) -> Void) -> RawInteraction {
        var raw = RawInteraction()
        fields(&raw)
        return raw
    }

    func add(
        _ counters: inout KPICounters,
        _ kind: InteractionKind,
        _ channel: Channel = .phone,
        _ fields: (inout RawInteraction) -> Void
    ) {
        counters.merge(counting.interaction(raw(fields), channel: channel, kind: kind, isRepeat: nil))
    }

    /// Five phone calls:
    /// 1. answered after 10 s, handled 300 s, resolved, no transfer;
    /// 2. answered after 30 s, handled 200 s, resolved after 1 transfer;
    /// 3. abandoned after 3 s (a short abandon, < 5 s);
    /// 4. a complaint abandoned after 40 s;
    /// 5. answered after exactly 20 s, handled 100 s, not resolved.
    func queue() -> KPICounters {
        var counters = KPICounters()
        add(&counters, .inquiry) {
            $0.answered = true
            $0.waitSeconds = 10
            $0.handleSeconds = 300
            $0.resolved = true
            $0.transfers = 0
        }
        add(&counters, .request) {
            $0.answered = true
            $0.waitSeconds = 30
            $0.handleSeconds = 200
            $0.resolved = true
            $0.transfers = 1
        }
        add(&counters, .inquiry) {
            $0.answered = false
            $0.waitSeconds = 3
        }
        add(&counters, .complaint) {
            $0.answered = false
            $0.waitSeconds = 40
        }
        add(&counters, .inquiry) {
            $0.answered = true
            $0.waitSeconds = 20
            $0.handleSeconds = 100
            $0.resolved = false
        }
        return counters
    }

    @Test func answerAbandonServiceLevelASAAndAHT() {
        let counters = queue()
        #expect(counters[.offered] == 5)
        #expect(counters[.answered] == 3)
        #expect(counters[.abandoned] == 2)
        #expect(counters[.shortAbandons] == 1)
        let rates = KPIFormulas.rates(counters)
        #expect(rates.answerRate == 3.0 / 5)  // 0.6
        #expect(rates.abandonRate == 1.0 / 4)  // (2 − 1) / (5 − 1)
        #expect(rates.serviceLevel == 2.0 / 4)  // 10 s and 20 s are within 20 s; / (5 − 1)
        #expect(rates.asaSeconds == 20)  // (10 + 30 + 20) / 3
        #expect(rates.ahtSeconds == 200)  // (300 + 200 + 100) / 3
    }

    @Test func firstContactResolutionAndComplaintRate() {
        var counters = queue()
        // A resolved e-mail, not a live channel: counts for FCR and contacts, not for the queue.
        add(&counters, .request, .email) { $0.resolved = true }
        // A 12315 hotline complaint: an escalation and a complaint.
        add(&counters, .complaint, .hotline12315) { _ in }
        let rates = KPIFormulas.rates(counters)
        // Resolution known: calls 1, 2, 5 and the e-mail; resolved with no transfer: call 1 and the e-mail.
        #expect(rates.fcr == 2.0 / 4)
        #expect(counters[.contacts] == 7)
        #expect(counters[.complaints] == 2)
        #expect(rates.complaintRate == 2.0 / 7)
        #expect(counters[.escalations] == 1)
        #expect(counters[.offered] == 5)
    }

    @Test func csatCesAndNps() {
        var counters = KPICounters()
        for csat in [5, 4, 2, 1] { add(&counters, .survey) { $0.csat = csat } }
        for effort in [1, 2, 4] { add(&counters, .survey) { $0.effort = effort } }
        for nps in [10, 9, 8, 5, 0, 6] { add(&counters, .survey) { $0.nps = nps } }
        let rates = KPIFormulas.rates(counters)
        #expect(rates.csatTop2Box == 0.5)  // 5 and 4 of four answers
        #expect(rates.csatMean == 3)  // (5 + 4 + 2 + 1) / 4
        #expect(rates.cesMean == 7.0 / 3)  // (1 + 2 + 4) / 3
        #expect(rates.cesLowEffortShare == 2.0 / 3)  // 1 and 2
        // Promoters 10, 9; passive 8; detractors 5, 0, 6: (2 − 3) / 6 × 100.
        #expect(counters[.promoters] == 2)
        #expect(counters[.passives] == 1)
        #expect(counters[.detractors] == 3)
        #expect(abs(rates.nps! - (-100.0 / 6)) < 1e-12)
        // Surveys are not contacts.
        #expect(counters[.contacts] == 0)
        #expect(rates.complaintRate == nil)
    }

    @Test func meanSentimentOfContacts() {
        var counters = KPICounters()
        add(&counters, .inquiry) { $0.sentiment = 0.5 }
        add(&counters, .complaint) { $0.sentiment = -0.3 }
        // A public mention's sentiment belongs to the opinion report, not to the contacts' mean.
        add(&counters, .opinion, .weibo) { $0.sentiment = -1 }
        #expect(abs(KPIFormulas.rates(counters).sentimentMean! - 0.1) < 1e-12)
    }

    @Test func repeatContactRateAndObservedFCR() {
        var counters = KPICounters()
        for isRepeat in [false, true, false, false, false] {
            counters.merge(counting.interaction(RawInteraction(), channel: .chat, kind: .inquiry, isRepeat: isRepeat))
        }
        let rates = KPIFormulas.rates(counters)
        #expect(rates.repeatContactRate == 0.2)  // 1 of 5
        #expect(rates.observedFcr == 0.8)
    }

    @Test func leadFunnel() {
        var counters = KPICounters()
        for _ in 0..<3 { counters.merge(KPICounting.leadCreated()) }
        counters.merge(KPICounting.leadSuppressed(reason: "no_consent"))
        counters.merge(KPICounting.leadSuppressed(reason: "frequency_cap"))
        counters.merge(KPICounting.leadSuppressed(reason: "frequency_cap"))
        for outcome in [OutcomeKind.contacted, .contacted, .contacted, .contacted, .accepted, .declined, .optedOut] {
            counters.merge(KPICounting.leadOutcome(outcome))
        }
        #expect(counters[.leadsCreated] == 3)
        #expect(counters[.leadsSuppressed] == 3)
        #expect(counters.tallies(prefix: KPICounts.suppressionPrefix) == ["no_consent": 1, "frequency_cap": 2])
        let rates = KPIFormulas.rates(counters)
        #expect(rates.conversion == 0.25)  // 1 accepted / 4 contacted
        #expect(rates.optOutRate == 0.25)  // 1 opted out / 4 contacted
    }

    @Test func emptyDenominatorsAreNullInJSON() throws {
        let rates = KPIFormulas.rates(KPICounters())
        #expect(rates.answerRate == nil)
        let json = String(decoding: try TandemJSON.encode(rates), as: UTF8.self)
        #expect(json.contains(#""answerRate":null"#))
        #expect(json.contains(#""nps":null"#))
        #expect(!json.contains("NaN"))
        #expect(json.split(separator: ",").count == 17)  // every KPI present
    }

    @Test func shortAbandonAndServiceLevelThresholdsAreConfigurable() {
        var rules = Rules.defaults.kpi
        rules.shortAbandonSeconds = 0
        rules.serviceLevelSeconds = 15
        let strict = KPICounting(rules: rules)
        var counters = KPICounters()
        var call = RawInteraction()
        call.answered = false
        call.waitSeconds = 3
        counters.merge(strict.interaction(call, channel: .phone, kind: .inquiry, isRepeat: nil))
        call.answered = true
        call.waitSeconds = 20
        counters.merge(strict.interaction(call, channel: .phone, kind: .inquiry, isRepeat: nil))
        let rates = KPIFormulas.rates(counters)
        #expect(rates.abandonRate == 0.5)  // no short abandons: 1 / 2
        #expect(rates.serviceLevel == 0)  // 20 s is not within 15 s
    }
}

import Foundation
import Leads
import Models
import ServiceKit
import Testing

/// Day 0 of the tests: 2026-03-01T00:00:00Z in ms.
let day0: Int64 = 1_772_323_200_000

func day(_ n: Double) -> Int64 { day0 + Int64(n * 86_400_000) }

func date(_ n: Double) -> Date { LeadEngine.date(day(n)) }

/// Plans of the tests. Usage of the standard customer: dataMB 9,000, voiceMinutes 250 on average.
enum Fixtures {
    static let p150 = Product(
        productId: "P150",
        name: "Unlimited 150",
        family: "plan",
        monthlyFee: 150,
        allowances: ["dataMB": 30_000, "voiceMinutes": 1000],
        overage: ["dataMB": 0.01, "voiceMinutes": 0.2],
        availableFrom: date(-400)
    )
    static let p88 = Product(
        productId: "P88",
        name: "Plus 88",
        family: "plan",
        monthlyFee: 88,
        allowances: ["dataMB": 20_000, "voiceMinutes": 500],
        overage: ["dataMB": 0.01, "voiceMinutes": 0.2],
        availableFrom: date(-400)
    )
    static let p58 = Product(
        productId: "P58",
        name: "Smart 58",
        family: "plan",
        monthlyFee: 58,
        allowances: ["dataMB": 10_000, "voiceMinutes": 300],
        overage: ["dataMB": 0.01, "voiceMinutes": 0.2],
        availableFrom: date(-400),
        script: "Hello {{name}}, {{productName}} saves you {{saving}} CNY a month."
    )
    /// 38 + (9,000 − 5,000) × 0.005 + (250 − 100) × 0.1 = 38 + 20 + 15 = 73.
    static let p38 = Product(
        productId: "P38",
        name: "Basic 38",
        family: "plan",
        monthlyFee: 38,
        allowances: ["dataMB": 5000, "voiceMinutes": 100],
        overage: ["dataMB": 0.005, "voiceMinutes": 0.1],
        availableFrom: date(-400)
    )
    static let roaming = Product(
        productId: "R30",
        name: "Roaming pack",
        family: "roaming",
        monthlyFee: 30,
        availableFrom: date(-400)
    )
    static let roamingCheap = Product(
        productId: "R20",
        name: "Roaming lite",
        family: "roaming",
        monthlyFee: 20,
        availableFrom: date(-400)
    )

    static func catalog(_ products: [Product]) -> CatalogSnapshot {
        CatalogSnapshot(Dictionary(uniqueKeysWithValues: products.map { ($0.productId, $0) }))
    }

    static let bills = [
        BillUsage(period: "2026-01", usage: ["dataMB": 8000, "voiceMinutes": 200]),
        BillUsage(period: "2026-02", usage: ["dataMB": 9000, "voiceMinutes": 250]),
        BillUsage(period: "2026-03", usage: ["dataMB": 10_000, "voiceMinutes": 300]),
    ]

    /// A consenting mid-tier customer on P150 with three bills.
    static func state() -> CustomerLeadState {
        var state = CustomerLeadState()
        state.consent = true
        state.creditScore = 80
        state.planId = "P150"
        state.tier = .mid
        state.bills = bills
        return state
    }
}

@Suite("Lead engine: pricing and opportunities")
struct PricingTests {
    let engine = LeadEngine(rules: Rules.defaults.leads)

    @Test("cost = fee + Σ max(0, usage − allowance) × overage")
    func cost() {
        #expect(LeadEngine.cost(of: Fixtures.p38, usage: ["dataMB": 9000, "voiceMinutes": 250]) == 73)
        #expect(LeadEngine.cost(of: Fixtures.p58, usage: ["dataMB": 9000, "voiceMinutes": 250]) == 58)
        // A metric used beyond the allowance without an overage price: the plan cannot serve it.
        #expect(LeadEngine.cost(of: Fixtures.roaming, usage: ["dataMB": 1]) == nil)
        #expect(LeadEngine.averageUsage(Fixtures.bills) == ["dataMB": 9000, "voiceMinutes": 250])
    }

    @Test("plan_fit recommends the cheapest plan for the usage with its saving")
    func planFit() throws {
        let catalog = Fixtures.catalog([Fixtures.p150, Fixtures.p88, Fixtures.p58, Fixtures.p38])
        let fit = try #require(engine.planFit(state: Fixtures.state(), catalog: catalog, at: day(0)))
        #expect(fit.product.productId == "P58")
        // 150 − 58 = 92 (61 %).
        #expect(fit.saving == 92)
        #expect(fit.evidence.contains("150.00") && fit.evidence.contains("58.00"))
    }

    @Test("plan_fit needs a 10 % saving, an available plan and a known current plan")
    func planFitLimits() {
        var state = Fixtures.state()
        state.planId = "P58"
        // On P58 (58) nothing is cheaper: P38 costs 73.
        #expect(
            engine.planFit(state: state, catalog: Fixtures.catalog([Fixtures.p58, Fixtures.p38]), at: day(0)) == nil
        )
        // A 139 plan saves 11 of 150 = 7 % < 10 %: none.
        var almost = Fixtures.p88
        almost.monthlyFee = 139
        #expect(
            engine.planFit(state: Fixtures.state(), catalog: Fixtures.catalog([Fixtures.p150, almost]), at: day(0))
                == nil
        )
        // A plan not yet available does not count.
        var later = Fixtures.p58
        later.availableFrom = date(5)
        #expect(
            engine.planFit(state: Fixtures.state(), catalog: Fixtures.catalog([Fixtures.p150, later]), at: day(0))
                == nil
        )
        // Unknown current plan (withdrawn): no baseline, no lead.
        #expect(engine.planFit(state: Fixtures.state(), catalog: Fixtures.catalog([Fixtures.p58]), at: day(0)) == nil)
    }

    @Test("retention: the cheapest plan covering the usage; none covering → nil")
    func retention() {
        let state = Fixtures.state()
        #expect(
            engine.retentionPlan(
                state: state,
                catalog: Fixtures.catalog([Fixtures.p150, Fixtures.p88, Fixtures.p58]),
                at: day(0)
            )?
            .productId == "P58"
        )
        #expect(
            engine.retentionPlan(state: state, catalog: Fixtures.catalog([Fixtures.p150, Fixtures.p38]), at: day(0))
                == nil
        )
        let need = PendingRetention(triggerEventId: "e1", since: day(0), until: day(30), evidence: "x")
        var inTime = Fixtures.p58
        inTime.availableFrom = date(29)
        #expect(engine.pendingFit(need, state: state, product: inTime) == day(29))
        var late = Fixtures.p58
        late.availableFrom = date(31)
        #expect(engine.pendingFit(need, state: state, product: late) == nil)
        #expect(engine.pendingFit(need, state: state, product: Fixtures.p38) == nil)
    }

    @Test("cross_sell: the lowest-fee available product of the family")
    func crossSell() {
        let catalog = Fixtures.catalog([Fixtures.roaming, Fixtures.roamingCheap, Fixtures.p58])
        #expect(
            engine.crossSell(family: "roaming", state: Fixtures.state(), catalog: catalog, at: day(0))?.productId
                == "R20"
        )
        #expect(engine.crossSell(family: "device", state: Fixtures.state(), catalog: catalog, at: day(0)) == nil)
    }
}

@Suite("Lead engine: contact policy")
struct PolicyTests {
    let engine = LeadEngine(rules: Rules.defaults.leads)
    let trigger = Trigger(eventId: "t", at: day(0))

    func check(
        _ state: CustomerLeadState,
        type: LeadType = .planFit,
        sentiment: Double? = nil,
        now: Int64 = day(0)
    )
        -> SuppressionReason?
    {
        engine.policy(
            state,
            type: type,
            productId: "P58",
            trigger: Trigger(eventId: "t", at: now, sentiment: sentiment),
            now: now
        )
    }

    @Test("consent: missing or false never; an opt-out never")
    func consent() {
        var state = Fixtures.state()
        #expect(check(state) == nil)
        state.consent = nil
        #expect(check(state) == .noConsent)
        state.consent = false
        #expect(check(state) == .noConsent)
        state.consent = true
        state.optedOut = true
        #expect(check(state) == .optedOut)
    }

    @Test("an escalation blocks 30 days; an open complaint and an upset trigger wait")
    func escalationComplaintSentiment() {
        var state = Fixtures.state()
        state.lastEscalation = day(0)
        #expect(check(state, now: day(29.9)) == .escalation)
        #expect(check(state, now: day(30)) == nil)
        state.lastEscalation = nil
        state.openComplaint = true
        #expect(check(state) == .openComplaint)
        state.openComplaint = false
        #expect(check(state, sentiment: -0.31) == .negativeSentiment)
        #expect(check(state, sentiment: -0.3) == nil)
    }

    @Test("a decline: nothing for 14 days, not that type for 90; two in 90 days: nothing for 180")
    func declines() {
        var state = Fixtures.state()
        state.declines = [DeclineMark(at: day(0), type: .planFit)]
        #expect(check(state, type: .crossSell, now: day(13.9)) == .recentDecline)
        #expect(check(state, type: .crossSell, now: day(14)) == nil)
        #expect(check(state, type: .planFit, now: day(89.9)) == .declinedType)
        #expect(check(state, type: .planFit, now: day(90)) == nil)
        state.declines.append(DeclineMark(at: day(60), type: .crossSell))
        // The second decline (day 60) is within 90 days of the first: blocked until day 240.
        #expect(check(state, type: .winBack, now: day(239.9)) == .repeatedDecline)
        #expect(check(state, type: .winBack, now: day(240)) == nil)
        // Two declines 100 days apart are not repeated.
        state.declines = [DeclineMark(at: day(0), type: .planFit), DeclineMark(at: day(100), type: .planFit)]
        #expect(check(state, type: .winBack, now: day(120)) == nil)
    }

    @Test("caps per tier per rolling 30 days: high 3, mid 2, low 1")
    func caps() {
        var state = Fixtures.state()
        func lead(_ n: Int, _ at: Double) -> LeadMark {
            LeadMark(
                leadId: "l\(n)",
                type: .crossSell,
                productId: "X\(n)",
                tier: .mid,
                createdAt: day(at),
                expiresAt: day(at + 14)
            )
        }
        state.tier = .low
        state.leads = [lead(1, 0)]
        #expect(check(state, now: day(1)) == .frequencyCap)
        #expect(check(state, now: day(30)) == nil)
        state.tier = .mid
        #expect(check(state, now: day(1)) == nil)
        state.leads.append(lead(2, 1))
        #expect(check(state, now: day(2)) == .frequencyCap)
        state.tier = .high
        #expect(check(state, now: day(2)) == nil)
        state.leads.append(lead(3, 2))
        #expect(check(state, now: day(3)) == .frequencyCap)
        // No segment yet: the low tier's cap.
        state.tier = nil
        state.leads = [lead(1, 0)]
        #expect(check(state, now: day(1)) == .frequencyCap)
    }

    @Test("no second lead for the same type and product while one is open (14 days)")
    func duplicateOpen() {
        var state = Fixtures.state()
        state.tier = .high
        state.leads = [
            LeadMark(leadId: "l", type: .planFit, productId: "P58", tier: .high, createdAt: day(0), expiresAt: day(14))
        ]
        #expect(check(state, now: day(13)) == .duplicateOpen)
        #expect(check(state, type: .retention, now: day(13)) == nil)
        #expect(check(state, now: day(14)) == nil)
        state.leads[0].closed = true
        #expect(check(state, now: day(13)) == nil)
    }

    @Test("propensity = (accepted + 1) / (contacted + 10); below 0.05 suppressed")
    func propensity() {
        #expect(engine.propensity(PropensityCounts()) == 0.1)
        #expect(engine.propensity(PropensityCounts(accepted: 4, contacted: 10)) == 0.25)
        let opportunity = Opportunity(type: .planFit, product: Fixtures.p58, saving: 92, evidence: "e")
        var state = Fixtures.state()
        // (0 + 1) / (11 + 10) = 0.0476 < 0.05.
        let decision = engine.decide(
            opportunity,
            customerId: "c1",
            trigger: trigger,
            now: day(0),
            state: &state,
            counts: PropensityCounts(accepted: 0, contacted: 11)
        )
        guard case .suppressed(let suppression) = decision else {
            Issue.record("expected a suppression, got \(decision)")
            return
        }
        #expect(suppression.reason == .lowPropensity)
        #expect(state.leads.isEmpty)
    }

    @Test("risk: credit < 40 or 2 complaints → high; credit < 60 or 1 complaint → medium")
    func risk() {
        var state = Fixtures.state()
        #expect(engine.riskLevel(state, now: day(0)) == .low)
        state.creditScore = 59
        #expect(engine.riskLevel(state, now: day(0)) == .medium)
        state.creditScore = 39
        #expect(engine.riskLevel(state, now: day(0)) == .high)
        state.creditScore = 90
        state.complaints = [day(-10)]
        #expect(engine.riskLevel(state, now: day(0)) == .medium)
        state.complaints.append(day(-1))
        #expect(engine.riskLevel(state, now: day(0)) == .high)
        // Complaints older than 30 days no longer count.
        #expect(engine.riskLevel(state, now: day(20.5)) == .medium)
    }
}

@Suite("Lead engine: leads, follow-up, scripts, ids")
struct LeadBuildingTests {
    let engine = LeadEngine(rules: Rules.defaults.leads)

    @Test("a lead: deterministic id, filled script, follow-up, expiry, reason")
    func lead() throws {
        var state = Fixtures.state()
        let opportunity = Opportunity(type: .planFit, product: Fixtures.p58, saving: 92, evidence: "evidence here")
        let trigger = Trigger(eventId: "evt-1", at: day(0))
        let decision = engine.decide(
            opportunity,
            customerId: "c1",
            trigger: trigger,
            now: day(0),
            state: &state,
            counts: .init()
        )
        guard case .lead(let lead) = decision else {
            Issue.record("expected a lead, got \(decision)")
            return
        }
        #expect(lead.leadId == LeadEngine.leadId(customerId: "c1", type: .planFit, productId: "P58", trigger: "evt-1"))
        #expect(lead.leadId.hasPrefix("ld-") && lead.leadId.count == 35)
        #expect(lead.script == "Hello customer, Smart 58 saves you 92.00 CNY a month.")
        #expect(lead.propensity == 0.1)
        #expect(lead.estimatedMonthlySaving == 92)
        #expect(lead.riskLevel == .low)
        #expect(lead.tier == "mid")
        #expect(lead.followUp.assignee == .outboundTeam)
        #expect(lead.followUp.notBefore == date(1))
        #expect(lead.followUp.expiresAt == date(14))
        #expect(lead.reason.contains("evidence here") && lead.reason.contains("plan_fit"))
        #expect(lead.validationErrors(now: Date()).isEmpty)
        #expect(state.leads.map(\.leadId) == [lead.leadId])
        // The same opportunity again (a replay): nothing new.
        let again = engine.decide(
            opportunity,
            customerId: "c1",
            trigger: trigger,
            now: day(0),
            state: &state,
            counts: .init()
        )
        #expect(again == .alreadyMade(lead.leadId))
    }

    @Test("ids differ by customer, type, product and trigger")
    func ids() {
        let base = LeadEngine.leadId(customerId: "c1", type: .planFit, productId: "P58", trigger: "e")
        #expect(base != LeadEngine.leadId(customerId: "c2", type: .planFit, productId: "P58", trigger: "e"))
        #expect(base != LeadEngine.leadId(customerId: "c1", type: .retention, productId: "P58", trigger: "e"))
        #expect(base != LeadEngine.leadId(customerId: "c1", type: .planFit, productId: "P88", trigger: "e"))
        #expect(base != LeadEngine.leadId(customerId: "c1", type: .planFit, productId: "P58", trigger: "f"))
        #expect(base == LeadEngine.leadId(customerId: "c1", type: .planFit, productId: "P58", trigger: "e"))
        // Field boundaries matter: ("ab", "c") is not ("a", "bc").
        #expect(
            LeadEngine.leadId(customerId: "ab", type: .planFit, productId: "c", trigger: "e")
                != LeadEngine.leadId(customerId: "a", type: .planFit, productId: "bc", trigger: "e")
        )
    }

    @Test("follow-up: cross-sell in a live contact → in_contact now; high tier → account manager")
    func followUp() {
        let live = Trigger(eventId: "e", at: day(0), channel: .chat, live: true)
        let inContact = engine.followUp(type: .crossSell, tier: .low, trigger: live, createdAt: day(0))
        #expect(inContact.assignee == .inContact && inContact.channel == .chat && inContact.notBefore == date(0))
        #expect(
            engine.followUp(type: .planFit, tier: .high, trigger: live, createdAt: day(0)).assignee == .accountManager
        )
        let email = Trigger(eventId: "e", at: day(0), channel: .email, live: false)
        #expect(
            engine.followUp(type: .crossSell, tier: .mid, trigger: email, createdAt: day(0)).assignee == .outboundTeam
        )
    }

    @Test("scripts: placeholders filled; malformed scripts named")
    func scripts() {
        #expect(
            Scripts.fill("{{ name }}: {{productName}} −{{saving}}", name: "customer", productName: "P", saving: 1.5)
                == "customer: P −1.50"
        )
        #expect(
            Scripts.fill("您好{{name}}，{{productName}}每月省{{saving}}元{{phone}}", name: "张", productName: "5G", saving: nil)
                == "您好张，5G每月省0.00元{{phone}}"
        )
        #expect(Scripts.fill("{{{name}}} {{name", name: "x", productName: "", saving: 1) == "{{{name}}} {{name")
        #expect(Scripts.fill("", name: "x", productName: "", saving: 1) == "")
        #expect(Scripts.problem("Hi {{name}}, {{productName}}") == nil)
        #expect(Scripts.problem("Hi {{name") != nil)
        #expect(Scripts.problem("Hi name}}") != nil)
        #expect(Scripts.problem("Hi {{phone}}") != nil)
        #expect(Scripts.problem("Hi {{}}") != nil)
    }
}

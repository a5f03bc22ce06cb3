public import Foundation
public import Models

/// What triggered an evaluation: an interaction, an account event, a segment change, or a
/// catalog product that a pending retention need was waiting for.
public struct Trigger: Sendable, Hashable {
    /// The eventId of the interaction (or a synthetic id for account events and segments).
    public var eventId: String
    /// Event time, ms since the epoch.
    public var at: Int64
    /// The contact's channel, when the trigger is a contact.
    public var channel: Channel?
    /// The contact is live (phone, chat, WeChat, app) and answered: the agent can pitch now.
    public var live: Bool
    /// The trigger's sentiment (−1…1), when known.
    public var sentiment: Double?

    public init(eventId: String, at: Int64, channel: Channel? = nil, live: Bool = false, sentiment: Double? = nil) {
        self.eventId = eventId
        self.at = at
        self.channel = channel
        self.live = live
        self.sentiment = sentiment
    }
}

/// An opportunity found before the contact policy: the product, the evidence, the saving.
public struct Opportunity: Sendable {
    public var type: LeadType
    public var product: Product
    public var saving: Double?
    private let writeEvidence: @Sendable () -> String

    /// Human-readable evidence and rule (no PII), written when asked: only a lead carries it, and
    /// most opportunities end as suppressions (formatting it for each cost a tenth of the service).
    public var evidence: String { writeEvidence() }

    public init(
        type: LeadType,
        product: Product,
        saving: Double? = nil,
        evidence: @autoclosure @escaping @Sendable () -> String
    ) {
        self.type = type
        self.product = product
        self.saving = saving
        writeEvidence = evidence
    }
}

/// The result of one opportunity under the contact policy.
public enum Decision: Sendable, Hashable {
    /// A lead to publish on `cs.leads`.
    case lead(Lead)
    /// A suppression to publish on `cs.lead-suppressions`.
    case suppressed(LeadSuppression)
    /// The same lead id is already in the customer's state (a replay): nothing to publish.
    case alreadyMade(String)
}

/// The pure lead logic of SPEC §4: pricing, opportunities, the contact policy, propensity, risk,
/// follow-up, scripts and ids. No Kafka, no clocks: every time is an argument.
public struct LeadEngine: Sendable {
    public let rules: Rules.Leads

    public init(rules: Rules.Leads) {
        self.rules = rules
    }

    // MARK: Pricing

    /// The average usage per metric over the given bills (a metric missing from a bill counts 0 there).
    public static func averageUsage(_ bills: [BillUsage]) -> [String: Double] {
        guard !bills.isEmpty else { return [:] }
        var sum: [String: Double] = [:]
        for bill in bills {
            for (metric, value) in bill.usage { sum[metric, default: 0] += value }
        }
        return sum.mapValues { $0 / Double(bills.count) }
    }

    /// monthlyFee + Σ max(0, usage − allowance) × overage. A metric used beyond the allowance with
    /// no overage price means the product cannot serve that usage: nil.
    ///
    /// Summed in metric-name order: a dictionary's order differs from process to process, and so
    /// would the last bit of the sum — and a replay on another instance must price the same.
    public static func cost(of product: Product, usage: [String: Double]) -> Double? {
        var total = product.monthlyFee
        for (metric, used) in usage.sorted(by: { $0.key < $1.key }) {
            let excess = used - (product.allowances[metric] ?? 0)
            guard excess > 0 else { continue }
            guard let price = product.overage[metric] else { return nil }
            total += excess * price
        }
        return total
    }

    /// Whether the plan's allowances cover the usage entirely (no overage at all).
    public static func covers(_ product: Product, usage: [String: Double]) -> Bool {
        usage.allSatisfy { metric, used in used <= (product.allowances[metric] ?? 0) }
    }

    /// `plan_fit`: the cheapest available plan for the customer's average usage over the last
    /// `usageBillCount` bills (none before that many bills), if it saves at least
    /// `minSavingPercent` of the current plan's cost. Ties go to the smaller productId.
    public func planFit(state: CustomerLeadState, catalog: CatalogSnapshot, at: Int64) -> Opportunity? {
        // The usage is established only by a full set of bills (one odd month proves nothing).
        let bills = Array(state.bills.suffix(rules.planFit.usageBillCount))
        guard bills.count == rules.planFit.usageBillCount, let planId = state.planId,
            let current = catalog.product(planId)
        else { return nil }
        let usage = Self.averageUsage(bills)
        guard let currentCost = Self.cost(of: current, usage: usage) else { return nil }
        let best = catalog.cheapestPlan(usage: usage, at: at, excluding: planId)
        guard let best, currentCost > 0 else { return nil }
        let saving = currentCost - best.cost
        let percent = saving / currentCost * 100
        guard saving > 0, percent >= rules.planFit.minSavingPercent else { return nil }
        let minSavingPercent = rules.planFit.minSavingPercent
        return Opportunity(
            type: .planFit,
            product: best.product,
            saving: Self.cents(saving),
            evidence: "average usage of the last \(bills.count) bill(s) (\(Self.describe(usage))) costs "
                + "\(Self.money(currentCost)) on the current plan \(planId) and \(Self.money(best.cost)) on "
                + "\(best.product.productId), the cheapest available plan: saves \(Self.money(saving)) "
                + "(\(Int(percent.rounded(.down))) % ≥ leads.planFit.minSavingPercent \(Self.number(minSavingPercent)))"
        )
    }

    /// `retention`: the cheapest available plan (not the current one) whose allowances cover the
    /// customer's average usage; nil when none fits (or no bill tells the usage).
    public func retentionPlan(state: CustomerLeadState, catalog: CatalogSnapshot, at: Int64) -> Product? {
        let usage = Self.averageUsage(Array(state.bills.suffix(rules.planFit.usageBillCount)))
        guard !usage.isEmpty else { return nil }
        return catalog.cheapestCovering(usage: usage, at: at, excluding: state.planId)
    }

    /// Whether one product satisfies a pending retention need: a plan covering the usage, not the
    /// current plan, available at some time between the trigger and the end of the wait.
    /// Returns the event time at which the lead is made (the later of the trigger and availableFrom).
    public func pendingFit(_ pending: PendingRetention, state: CustomerLeadState, product: Product) -> Int64? {
        guard product.family == "plan", product.productId != state.planId else { return nil }
        let usage = Self.averageUsage(Array(state.bills.suffix(rules.planFit.usageBillCount)))
        guard !usage.isEmpty, Self.covers(product, usage: usage) else { return nil }
        let from = Self.milliseconds(product.availableFrom)
        guard from <= pending.until else { return nil }
        let at = max(pending.since, from)
        guard product.isAvailable(at: Self.date(at)) else { return nil }
        return at
    }

    /// `cross_sell`: the best available product of the family for this customer: the lowest cost
    /// for the customer's average usage (the monthly fee when usage is unknown), ties by productId.
    public func crossSell(family: String, state: CustomerLeadState, catalog: CatalogSnapshot, at: Int64) -> Product? {
        if family == "plan" {
            let usage = Self.averageUsage(Array(state.bills.suffix(rules.planFit.usageBillCount)))
            return catalog.cheapestPlan(usage: usage, at: at, excluding: state.planId)?.product
        }
        // Without allowances to price, the cost is the fee: the first available by fee.
        let date = Self.date(at)
        return catalog.productsByFee(family: family).first { $0.productId != state.planId && $0.isAvailable(at: date) }
    }

    /// `win_back`: the plan to win an inactive customer back with: the cheapest available plan for
    /// the average usage (the current plan included: "come back on what you had"); without bills
    /// the current plan if it is still offered.
    public func winBackPlan(state: CustomerLeadState, catalog: CatalogSnapshot, at: Int64) -> Product? {
        let usage = Self.averageUsage(Array(state.bills.suffix(rules.planFit.usageBillCount)))
        if usage.isEmpty {
            guard let planId = state.planId, let plan = catalog.product(planId), plan.isAvailable(at: Self.date(at))
            else { return nil }
            return plan
        }
        return catalog.cheapestPlan(usage: usage, at: at, excluding: nil)?.product
    }

    // MARK: Contact policy

    /// The first rule of the contact policy (SPEC §4) that stops a lead of `type` for `productId`
    /// at `now`, in ``SuppressionReason``'s order; nil when the lead may be made (propensity aside).
    public func policy(
        _ state: CustomerLeadState,
        type: LeadType,
        productId: String,
        trigger: Trigger,
        now: Int64
    ) -> SuppressionReason? {
        let contact = rules.contact
        if state.consent != true { return .noConsent }
        if state.optedOut { return .optedOut }
        if let escalation = state.lastEscalation,
            now - escalation < Int64(contact.escalationBlockDays) * millisecondsPerDay
        {
            return .escalation
        }
        if state.openComplaint { return .openComplaint }
        if let sentiment = trigger.sentiment, sentiment < contact.pauseSentimentBelow { return .negativeSentiment }
        if repeatedDeclineBlocks(state.declines, now: now) { return .repeatedDecline }
        let anyBlock = Int64(contact.decline.anyLeadBlockDays) * millisecondsPerDay
        if state.declines.contains(where: { $0.at <= now && now - $0.at < anyBlock }) { return .recentDecline }
        let typeBlock = Int64(contact.decline.sameTypeBlockDays) * millisecondsPerDay
        if state.declines.contains(where: {
            ($0.type == nil || $0.type == type) && $0.at <= now && now - $0.at < typeBlock
        }) {
            return .declinedType
        }
        let window = Int64(contact.capWindowDays) * millisecondsPerDay
        let recent = state.leads.count { $0.createdAt <= now && now - $0.createdAt < window }
        if recent >= contact.caps[state.effectiveTier] { return .frequencyCap }
        if state.leads.contains(where: { $0.type == type && $0.productId == productId && $0.isOpen(at: now) }) {
            return .duplicateOpen
        }
        return nil
    }

    /// `repeatCount` declines within `repeatWindowDays` block all marketing for `repeatBlockDays`
    /// from the decline that completed the count.
    func repeatedDeclineBlocks(_ declines: [DeclineMark], now: Int64) -> Bool {
        let decline = rules.contact.decline
        let window = Int64(decline.repeatWindowDays) * millisecondsPerDay
        let block = Int64(decline.repeatBlockDays) * millisecondsPerDay
        let times = declines.map(\.at).filter { $0 <= now }.sorted()
        for (index, time) in times.enumerated() where now - time < block {
            let inWindow = times[...index].count { time - $0 < window }
            if inWindow >= decline.repeatCount { return true }
        }
        return false
    }

    // MARK: Propensity, risk, follow-up

    /// (accepted + prior) / (contacted + prior) for the counts of one (type, tier).
    public func propensity(_ counts: PropensityCounts) -> Double {
        min(1, max(0, rules.propensity.estimate(accepted: counts.accepted, contacted: counts.contacted)))
    }

    /// high if creditScore < 40 or ≥ 2 complaints in 30 days; medium if creditScore < 60 or 1
    /// complaint; else low. An unknown credit score raises nothing (only complaints decide then).
    public func riskLevel(_ state: CustomerLeadState, now: Int64) -> RiskLevel {
        let risk = rules.riskLevel
        let window = Int64(risk.complaintWindowDays) * millisecondsPerDay
        let complaints = state.complaints.count { $0 <= now && now - $0 < window }
        if let credit = state.creditScore, credit < risk.highCreditBelow { return .high }
        if complaints >= risk.highComplaints { return .high }
        if let credit = state.creditScore, credit < risk.mediumCreditBelow { return .medium }
        if complaints >= risk.mediumComplaints { return .medium }
        return .low
    }

    /// Cross-sell during a live contact → the agent in the contact, now; a high-tier customer →
    /// the account manager; else the outbound team. Those two call back no earlier than one day
    /// after the trigger (the contact that triggered the lead is not followed by a sales call the
    /// same day). The lead expires `leadTtlDays` after it is made.
    public func followUp(type: LeadType, tier: Rules.Tier, trigger: Trigger, createdAt: Int64) -> Lead.FollowUp {
        let expires = Self.date(createdAt + Int64(rules.leadTtlDays) * millisecondsPerDay)
        if type == .crossSell, trigger.live, let channel = trigger.channel {
            return Lead.FollowUp(
                channel: channel,
                assignee: .inContact,
                notBefore: Self.date(createdAt),
                expiresAt: expires
            )
        }
        let assignee: Assignee = tier == .high ? .accountManager : .outboundTeam
        return Lead.FollowUp(
            channel: .phone,
            assignee: assignee,
            notBefore: Self.date(createdAt + millisecondsPerDay),
            expiresAt: expires
        )
    }

    // MARK: Decisions

    /// Runs the contact policy on an opportunity; a lead is recorded in `state` (it counts for
    /// caps and duplicates from now on).
    public func decide(
        _ opportunity: Opportunity,
        customerId: String,
        trigger: Trigger,
        now: Int64,
        state: inout CustomerLeadState,
        counts: PropensityCounts
    ) -> Decision {
        let type = opportunity.type
        let product = opportunity.product
        let leadId = Self.leadId(
            customerId: customerId,
            type: type,
            productId: product.productId,
            trigger: trigger.eventId
        )
        if state.leads.contains(where: { $0.leadId == leadId }) { return .alreadyMade(leadId) }
        let tier = state.effectiveTier
        var reason = policy(state, type: type, productId: product.productId, trigger: trigger, now: now)
        let rate = propensity(counts)
        if reason == nil, rate < rules.propensity.floor { reason = .lowPropensity }
        if let reason {
            return .suppressed(
                LeadSuppression(
                    suppressionId: Self.suppressionId(
                        customerId: customerId,
                        type: type,
                        productId: product.productId,
                        trigger: trigger.eventId
                    ),
                    customerId: customerId,
                    occurredAt: Self.date(now),
                    type: type,
                    reason: reason,
                    tier: state.tier?.rawValue,
                    triggerEventId: trigger.eventId
                )
            )
        }
        let followUp = followUp(type: type, tier: tier, trigger: trigger, createdAt: now)
        let script = Scripts.fill(
            product.script ?? Scripts.defaultScript(saving: opportunity.saving != nil),
            name: Scripts.customerName,
            productName: product.name,
            saving: opportunity.saving
        )
        let lead = Lead(
            leadId: leadId,
            customerId: customerId,
            createdAt: Self.date(now),
            type: type,
            productId: product.productId,
            productName: product.name,
            script: script,
            propensity: rate,
            estimatedMonthlySaving: opportunity.saving,
            riskLevel: riskLevel(state, now: now),
            tier: tier.rawValue,
            reason: "\(type.rawValue): \(opportunity.evidence); contact policy passed (tier \(tier.rawValue), "
                + "propensity \(Self.number(rate)) ≥ floor \(Self.number(rules.propensity.floor)))",
            triggerEventId: trigger.eventId,
            followUp: followUp
        )
        state.leads.append(
            LeadMark(
                leadId: leadId,
                type: type,
                productId: product.productId,
                tier: tier,
                createdAt: now,
                expiresAt: Self.milliseconds(followUp.expiresAt)
            )
        )
        return .lead(lead)
    }

    /// Drops what can no longer block or count anything at `now`: old complaints, declines,
    /// leads (kept 30 days past expiry, as long as outcomes may still arrive), an expired pending
    /// retention need.
    public func prune(_ state: inout CustomerLeadState, now: Int64) {
        let complaintWindow = Int64(rules.riskLevel.complaintWindowDays) * millisecondsPerDay
        state.complaints.removeAll { now - $0 >= complaintWindow }
        let decline = rules.contact.decline
        let declineKeep =
            Int64(max(decline.sameTypeBlockDays, decline.repeatWindowDays + decline.repeatBlockDays))
            * millisecondsPerDay
        state.declines.removeAll { now - $0.at >= declineKeep }
        let capWindow = Int64(rules.contact.capWindowDays) * millisecondsPerDay
        state.leads.removeAll { now - $0.createdAt >= capWindow && now - $0.expiresAt >= 30 * millisecondsPerDay }
        if let pending = state.pendingRetention, now > pending.until { state.pendingRetention = nil }
    }

    // MARK: Ids and formatting

    /// `ld-` + 32 hex digits: a 128-bit FNV-1a hash of customer, type, product and trigger.
    public static func leadId(customerId: String, type: LeadType, productId: String, trigger: String) -> String {
        hash128("ld-", customerId, type.rawValue, productId, trigger)
    }

    /// `sp-` + 32 hex digits over the same fields: a replayed suppression has the same id.
    public static func suppressionId(customerId: String, type: LeadType, productId: String, trigger: String) -> String {
        hash128("sp-", customerId, type.rawValue, productId, trigger)
    }

    /// `prefix` + 32 hex digits: two 64-bit FNV-1a hashes (the second over bytes XOR 0x5A) of the
    /// four parts, each followed by 0x1F and its index.
    static func hash128(_ prefix: StaticString, _ p0: String, _ p1: String, _ p2: String, _ p3: String) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x6c62_272e_07bb_0142
        @inline(__always) func mix(_ byte: UInt8) {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            b = (b ^ UInt64(byte ^ 0x5a)) &* 0x0000_0100_0000_01b3
        }
        func mix(_ part: String, _ index: UInt8) {
            var part = part
            part.withUTF8 { for byte in $0 { mix(byte) } }
            mix(0x1f)
            mix(index)
        }
        mix(p0, 0)
        mix(p1, 1)
        mix(p2, 2)
        mix(p3, 3)
        let prefixCount = prefix.utf8CodeUnitCount
        return String(unsafeUninitializedCapacity: prefixCount + 32) { buffer in
            for index in 0..<prefixCount { buffer[index] = prefix.utf8Start[index] }
            let digits: StaticString = "0123456789abcdef"
            func hex(_ word: UInt64, at offset: Int) {
                for nibble in 0..<16 {
                    buffer[offset + nibble] = digits.utf8Start[Int((word >> UInt64(60 - 4 * nibble)) & 0xF)]
                }
            }
            hex(a, at: prefixCount)
            hex(b, at: prefixCount + 16)
            return prefixCount + 32
        }
    }

    public static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    public static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    static func cents(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    static func money(_ value: Double) -> String { decimal(value, places: 2) }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : decimal(value, places: 3)
    }

    /// `String(format: "%.2f", value)` (or `%.3f`, for `places` 3; 1–6 places): the same text.
    /// Written directly when the rounding is certain — a non-negative value below 10⁶ whose scaled
    /// fraction is not within 10⁻⁶ of one half (the product's rounding error is below 2·10⁻⁷
    /// there) — else by Foundation's formatter, which rounds the exact binary value half to even.
    public static func decimal(_ value: Double, places: Int) -> String {
        precondition((1...6).contains(places), "1–6 decimal places")
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        if value.sign == .plus, value < 1e6 {
            let scaled = value * Double(scale)
            let whole = scaled.rounded(.down)
            let fraction = scaled - whole
            if abs(fraction - 0.5) > 1e-6 {
                let units = Int64(whole) + (fraction > 0.5 ? 1 : 0)
                let decimals = String(units % scale)
                return String(units / scale) + "." + String(repeating: "0", count: places - decimals.utf8.count)
                    + decimals
            }
        }
        return String(format: "%.\(places)f", value)
    }

    static func describe(_ usage: [String: Double]) -> String {
        usage.keys.sorted().map { "\($0) \(number(usage[$0]!))" }.joined(separator: ", ")
    }
}

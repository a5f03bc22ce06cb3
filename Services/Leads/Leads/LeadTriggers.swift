public import Models
public import ServiceKit

/// The propensity evidence of one (type, tier), as the caller stores it.
public typealias CountsLookup = (LeadType, Rules.Tier) -> PropensityCounts

/// What an outcome changes in the propensity counts of its lead's (type, tier).
public struct OutcomeEffect: Sendable, Hashable {
    public var type: LeadType
    public var tier: Rules.Tier
    public var accepted: Int
    public var contacted: Int
}

/// The triggers of SPEC §4: each input updates the customer's state first, then its
/// opportunities go through the contact policy (so a complaint in the trigger itself suppresses).
extension LeadEngine {
    /// An interaction about the customer: complaints, escalations, opt-outs, declines update the
    /// state; a billing/plan contact looks for `plan_fit`, a `churn_threat` for `retention`, a
    /// resolved positive contact with `interest:<family>` for `cross_sell`.
    public func handle(
        interaction: Interaction,
        customerId: String,
        state: inout CustomerLeadState,
        catalog: CatalogSnapshot,
        counts: CountsLookup
    ) -> [Decision] {
        let at = Self.milliseconds(interaction.occurredAt)
        prune(&state, now: at)
        let signals = Set(interaction.signals ?? [])
        if interaction.escalation { state.lastEscalation = max(state.lastEscalation ?? at, at) }
        if interaction.kind == .complaint {
            state.complaints.append(at)
            state.openComplaint = interaction.resolved != true
        } else if interaction.resolved == true {
            state.openComplaint = false
        }
        if signals.contains("opt_out") { state.optedOut = true }
        if signals.contains("decline_marketing") {
            // The decline is of the latest open lead's type when there is one, else of marketing in general.
            let latest = state.leads.last { $0.isOpen(at: at) }
            state.declines.append(DeclineMark(at: at, type: latest?.type))
            if let latest, let index = state.leads.firstIndex(where: { $0.leadId == latest.leadId }) {
                state.leads[index].closed = true
            }
        }
        let trigger = Trigger(
            eventId: interaction.eventId,
            at: at,
            channel: interaction.channel,
            live: interaction.channel.isLive && interaction.answered != false,
            sentiment: interaction.sentiment
        )
        var opportunities: [Opportunity] = []
        let topic = interaction.topic ?? ""
        if topic == "billing" || topic == "plan" || signals.contains("wants_cheaper_plan") {
            if let fit = planFit(state: state, catalog: catalog, at: at) {
                opportunities.append(
                    Opportunity(
                        type: .planFit,
                        product: fit.product,
                        saving: fit.saving,
                        evidence: "contact about \(topic.isEmpty ? "a cheaper plan" : topic) (\(interaction.eventId)); "
                            + fit.evidence
                    )
                )
            }
        }
        var decisions: [Decision] = []
        if signals.contains("churn_threat") {
            decisions += retention(
                because: "churn_threat signal on contact \(interaction.eventId)",
                trigger: trigger,
                customerId: customerId,
                state: &state,
                catalog: catalog,
                counts: counts
            )
        }
        let positive =
            (interaction.csat.map { $0 >= rules.crossSell.minCsat } ?? false)
            || (interaction.sentiment.map { $0 >= rules.crossSell.minSentiment } ?? false)
        if interaction.resolved == true, positive {
            for signal in signals.sorted() where signal.hasPrefix("interest:") {
                let family = String(signal.dropFirst("interest:".count))
                guard !family.isEmpty, let product = crossSell(family: family, state: state, catalog: catalog, at: at)
                else { continue }
                let ending =
                    interaction.csat.map { "csat \($0) ≥ leads.crossSell.minCsat \(rules.crossSell.minCsat)" }
                    ?? "sentiment \(Self.number(interaction.sentiment ?? 0)) ≥ leads.crossSell.minSentiment"
                opportunities.append(
                    Opportunity(
                        type: .crossSell,
                        product: product,
                        evidence: "resolved contact \(interaction.eventId) with a positive ending (\(ending)) and the "
                            + "signal \(signal): \(product.productId) is the lowest-cost available \(family) product"
                    )
                )
            }
        }
        for opportunity in opportunities {
            decisions.append(
                decide(
                    opportunity,
                    customerId: customerId,
                    trigger: trigger,
                    now: at,
                    state: &state,
                    counts: counts(opportunity.type, state.effectiveTier)
                )
            )
        }
        decisions += recheckPending(customerId: customerId, state: &state, catalog: catalog, now: at, counts: counts)
        return decisions
    }

    /// An account event: a profile sets consent (restoring it clears an opt-out), credit and plan;
    /// a bill's usage joins the average and looks for `plan_fit`; a plan purchase changes the plan.
    ///
    /// - Throws: `no_usage` for a bill without usage (no lead may be built on it).
    public func handle(
        account: AccountEvent,
        state: inout CustomerLeadState,
        catalog: CatalogSnapshot,
        counts: CountsLookup
    ) throws(ProcessingFailure) -> [Decision] {
        let customerId = account.customerId
        let at = Self.milliseconds(account.at)
        var decisions: [Decision] = []
        switch account {
        case .profile(let profile):
            prune(&state, now: at)
            if let consent = profile.marketingConsent {
                state.consent = consent
                if consent { state.optedOut = false }
            }
            if let credit = profile.creditScore { state.creditScore = credit }
            if let plan = profile.planId { state.planId = plan }
        case .bill(let bill):
            guard !bill.usage.isEmpty else {
                throw ProcessingFailure(
                    reason: "no_usage",
                    message: "a bill without usage cannot be priced under any plan"
                )
            }
            prune(&state, now: at)
            state.bills.removeAll { $0.period == bill.period }
            state.bills.append(BillUsage(period: bill.period, usage: bill.usage))
            state.bills.sort { $0.period < $1.period }
            state.bills = Array(state.bills.suffix(rules.planFit.usageBillCount))
            let trigger = Trigger(eventId: "bill:\(customerId):\(bill.period)", at: at)
            if let fit = planFit(state: state, catalog: catalog, at: at) {
                let opportunity = Opportunity(
                    type: .planFit,
                    product: fit.product,
                    saving: fit.saving,
                    evidence: "bill \(bill.period); " + fit.evidence
                )
                decisions.append(
                    decide(
                        opportunity,
                        customerId: customerId,
                        trigger: trigger,
                        now: at,
                        state: &state,
                        counts: counts(.planFit, state.effectiveTier)
                    )
                )
            }
        case .purchase(let purchase):
            prune(&state, now: at)
            if catalog.product(purchase.productId)?.family == "plan" { state.planId = purchase.productId }
        }
        decisions += recheckPending(customerId: customerId, state: &state, catalog: catalog, now: at, counts: counts)
        return decisions
    }

    /// A segment: tier, activity and churn risk. Active/cooling → inactive for a tier at least
    /// `winBack.minTier` looks for `win_back`; churn risk turning high is a `retention` trigger.
    public func handle(
        segment: CustomerSegment,
        state: inout CustomerLeadState,
        catalog: CatalogSnapshot,
        counts: CountsLookup
    ) -> [Decision] {
        handle(segment: CustomerSegment.Essentials(segment), state: &state, catalog: catalog, counts: counts)
    }

    /// A segment's tier, activity and churn risk arrived (all the rules read of it).
    public func handle(
        segment: CustomerSegment.Essentials,
        state: inout CustomerLeadState,
        catalog: CatalogSnapshot,
        counts: CountsLookup
    ) -> [Decision] {
        let customerId = segment.customerId
        let at = Self.milliseconds(segment.asOf)
        prune(&state, now: at)
        let previousActivity = state.activity
        let previousRisk = state.churnRisk
        state.tier = segment.tier
        state.activity = segment.activity
        state.churnRisk = segment.churnRisk
        let trigger = Trigger(eventId: "segment:\(customerId):\(segment.version)", at: at)
        var decisions: [Decision] = []
        if segment.activity == .inactive, let previousActivity, previousActivity != .inactive,
            segment.tier >= rules.winBack.minTier,
            let plan = winBackPlan(state: state, catalog: catalog, at: at)
        {
            let opportunity = Opportunity(
                type: .winBack,
                product: plan,
                evidence: "segment v\(segment.version): activity \(previousActivity.rawValue) → inactive, tier "
                    + "\(segment.tier.rawValue) ≥ leads.winBack.minTier \(rules.winBack.minTier.rawValue); "
                    + "\(plan.productId) is the lowest-cost available plan for the usage"
            )
            decisions.append(
                decide(
                    opportunity,
                    customerId: customerId,
                    trigger: trigger,
                    now: at,
                    state: &state,
                    counts: counts(.winBack, state.effectiveTier)
                )
            )
        }
        if segment.churnRisk == .high, previousRisk != .high {
            decisions += retention(
                because: "segment v\(segment.version): churn risk \(previousRisk?.rawValue ?? "unknown") → high",
                trigger: trigger,
                customerId: customerId,
                state: &state,
                catalog: catalog,
                counts: counts
            )
        }
        decisions += recheckPending(customerId: customerId, state: &state, catalog: catalog, now: at, counts: counts)
        return decisions
    }

    /// An outcome of one of the customer's leads.
    ///
    /// - Throws: `unknown_lead` when the customer has no such lead (made by us, within 30 days of its expiry).
    public func handle(outcome: LeadOutcome, state: inout CustomerLeadState) throws(ProcessingFailure) -> OutcomeEffect
    {
        guard let index = state.leads.firstIndex(where: { $0.leadId == outcome.leadId }) else {
            throw ProcessingFailure(
                reason: "unknown_lead",
                message: "no lead with this leadId was made for the customer"
            )
        }
        let at = Self.milliseconds(outcome.at)
        var mark = state.leads[index]
        var effect = OutcomeEffect(type: mark.type, tier: mark.tier, accepted: 0, contacted: 0)
        if outcome.outcome != .unreachable, !mark.reached {
            mark.reached = true
            effect.contacted = 1
        }
        switch outcome.outcome {
        case .accepted:
            if !mark.accepted {
                mark.accepted = true
                effect.accepted = 1
            }
            mark.closed = true
        case .declined:
            mark.closed = true
            state.declines.append(DeclineMark(at: at, type: mark.type))
        case .optedOut:
            mark.closed = true
            state.optedOut = true
        case .contacted, .unreachable:
            break
        }
        state.leads[index] = mark
        return effect
    }

    /// `retention`: the fitting plan now, else a pending need that a product available within
    /// `retention.waitForProductDays` satisfies later.
    func retention(
        because evidence: String,
        trigger: Trigger,
        customerId: String,
        state: inout CustomerLeadState,
        catalog: CatalogSnapshot,
        counts: CountsLookup
    ) -> [Decision] {
        if let plan = retentionPlan(state: state, catalog: catalog, at: trigger.at) {
            let opportunity = Opportunity(
                type: .retention,
                product: plan,
                evidence: "\(evidence); \(plan.productId) is the cheapest available plan whose allowances cover "
                    + "the average usage"
            )
            return [
                decide(
                    opportunity,
                    customerId: customerId,
                    trigger: trigger,
                    now: trigger.at,
                    state: &state,
                    counts: counts(.retention, state.effectiveTier)
                )
            ]
        }
        if state.pendingRetention == nil {
            state.pendingRetention = PendingRetention(
                triggerEventId: trigger.eventId,
                since: trigger.at,
                until: trigger.at + Int64(rules.retention.waitForProductDays) * millisecondsPerDay,
                evidence: evidence
            )
        }
        return []
    }

    /// A pending retention need met by one product (a catalog arrival): the lead, made at the later
    /// of the trigger and the product's availableFrom, under the policy at that time.
    public func satisfyPending(
        with product: Product,
        customerId: String,
        state: inout CustomerLeadState,
        counts: CountsLookup
    ) -> Decision? {
        guard let pending = state.pendingRetention, let at = pendingFit(pending, state: state, product: product)
        else { return nil }
        state.pendingRetention = nil
        let opportunity = Opportunity(
            type: .retention,
            product: product,
            evidence: "\(pending.evidence) (\(pending.triggerEventId)); no plan fitted then, \(product.productId) "
                + "covers the average usage and is available within leads.retention.waitForProductDays "
                + "\(rules.retention.waitForProductDays)"
        )
        return decide(
            opportunity,
            customerId: customerId,
            trigger: Trigger(eventId: pending.triggerEventId, at: at),
            now: at,
            state: &state,
            counts: counts(.retention, state.effectiveTier)
        )
    }

    /// On any event of the customer: a pending need met by the catalog as it is.
    func recheckPending(
        customerId: String,
        state: inout CustomerLeadState,
        catalog: CatalogSnapshot,
        now: Int64,
        counts: CountsLookup
    ) -> [Decision] {
        guard let pending = state.pendingRetention else { return [] }
        var best: (product: Product, at: Int64)?
        for plan in catalog.plans {
            guard let at = pendingFit(pending, state: state, product: plan) else { continue }
            if best == nil || plan.monthlyFee < best!.product.monthlyFee { best = (plan, at) }
        }
        guard let best else { return [] }
        return satisfyPending(with: best.product, customerId: customerId, state: &state, counts: counts).map { [$0] }
            ?? []
    }
}

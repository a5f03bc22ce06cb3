extension Rules {
    /// Opportunities, contact policy, propensity and risk level (SPEC §4).
    public struct Leads: Codable, Sendable, Hashable {
        /// `plan_fit` opportunities.
        public var planFit: PlanFit
        /// `retention` opportunities.
        public var retention: Retention
        /// `cross_sell` opportunities.
        public var crossSell: CrossSell
        /// `win_back` opportunities.
        public var winBack: WinBack
        /// The contact policy every lead passes first.
        public var contact: Contact
        /// A lead stays open this many days: no second lead for the same customer, type and product
        /// meanwhile, and its follow-up expires then.
        public var leadTtlDays: Int
        /// The expected response rate and its floor.
        public var propensity: Propensity
        /// The risk level a lead carries.
        public var riskLevel: RiskLevel

        func validate(at path: String) throws(RulesError) {
            try planFit.validate(at: "\(path).planFit")
            try retention.validate(at: "\(path).retention")
            try crossSell.validate(at: "\(path).crossSell")
            try contact.validate(at: "\(path).contact")
            try RuleChecks.range("\(path).leadTtlDays", leadTtlDays, 1...365)
            try propensity.validate(at: "\(path).propensity")
            try riskLevel.validate(at: "\(path).riskLevel")
        }
    }
}

extension Rules.Leads {
    /// `plan_fit`: a cheaper plan for the customer's real usage.
    public struct PlanFit: Codable, Sendable, Hashable {
        /// Recommend the cheapest plan only if it saves at least this percentage of the current
        /// plan's cost for the same usage.
        public var minSavingPercent: Double
        /// Usage is the average of this many most recent bills.
        public var usageBillCount: Int

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).minSavingPercent", minSavingPercent, 0...99)
            try RuleChecks.range("\(path).usageBillCount", usageBillCount, 1...24)
        }
    }

    /// `retention`: keep a customer who threatens to leave.
    public struct Retention: Codable, Sendable, Hashable {
        /// When no plan fits now, wait up to this many days for a new catalog product that does.
        public var waitForProductDays: Int

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).waitForProductDays", waitForProductDays, 0...365)
        }
    }

    /// `cross_sell`: a resolved contact with a positive ending and an interest signal.
    public struct CrossSell: Codable, Sendable, Hashable {
        /// A survey CSAT (1–5) at least this is a positive ending.
        public var minCsat: Int
        /// A sentiment (−1…1) at least this is a positive ending.
        public var minSentiment: Double

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).minCsat", minCsat, 1...5)
            try RuleChecks.range("\(path).minSentiment", minSentiment, -1...1)
        }
    }

    /// `win_back`: a customer who moves from active to inactive.
    public struct WinBack: Codable, Sendable, Hashable {
        /// Only customers of this tier or above.
        public var minTier: Rules.Tier
    }

    /// The contact policy, checked before any lead is emitted.
    public struct Contact: Codable, Sendable, Hashable {
        /// A trigger with sentiment below this waits (the customer is upset).
        public var pauseSentimentBelow: Double
        /// No lead for this many days after a regulator or hotline escalation.
        public var escalationBlockDays: Int
        /// The caps count leads over this many last days.
        public var capWindowDays: Int
        /// At most this many leads per customer in the cap window, by tier (0: none).
        public var caps: Rules.PerTier<Int>
        /// What a decline blocks.
        public var decline: Decline

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).pauseSentimentBelow", pauseSentimentBelow, -1...1)
            try RuleChecks.range("\(path).escalationBlockDays", escalationBlockDays, 0...365)
            try RuleChecks.range("\(path).capWindowDays", capWindowDays, 1...365)
            for tier in [Rules.Tier.high, .mid, .low] {
                try RuleChecks.range("\(path).caps.\(tier.rawValue)", caps[tier], 0...100)
            }
            try decline.validate(at: "\(path).decline")
        }
    }

    /// What a decline (an outcome or a `decline_marketing` signal) blocks.
    public struct Decline: Codable, Sendable, Hashable {
        /// No lead at all for this many days after a decline.
        public var anyLeadBlockDays: Int
        /// No lead of the declined type for this many days.
        public var sameTypeBlockDays: Int
        /// This many declines within ``repeatWindowDays``…
        public var repeatCount: Int
        /// …counted over this many last days…
        public var repeatWindowDays: Int
        /// …block all marketing for this many days.
        public var repeatBlockDays: Int

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).anyLeadBlockDays", anyLeadBlockDays, 0...365)
            try RuleChecks.range("\(path).sameTypeBlockDays", sameTypeBlockDays, 0...730)
            if sameTypeBlockDays < anyLeadBlockDays {
                throw RulesError(
                    key: "\(path).sameTypeBlockDays",
                    problem: "must not be below anyLeadBlockDays (\(anyLeadBlockDays)), is \(sameTypeBlockDays)"
                )
            }
            try RuleChecks.range("\(path).repeatCount", repeatCount, 2...100)
            try RuleChecks.range("\(path).repeatWindowDays", repeatWindowDays, 1...730)
            try RuleChecks.range("\(path).repeatBlockDays", repeatBlockDays, 0...1095)
        }
    }

    /// Propensity = (accepted + priorAccepted) / (contacted + priorContacted) per lead type and
    /// tier, learned online from lead outcomes.
    public struct Propensity: Codable, Sendable, Hashable {
        /// Below this propensity, no lead.
        public var floor: Double
        /// Pseudo-acceptances added to the observed ones (a Laplace-style prior).
        public var priorAccepted: Double
        /// Pseudo-contacts added to the observed ones; the rate before any outcome is
        /// ``priorAccepted`` ÷ ``priorContacted``.
        public var priorContacted: Double

        /// The expected response rate after `accepted` acceptances in `contacted` contacts.
        public func estimate(accepted: Int, contacted: Int) -> Double {
            (Double(accepted) + priorAccepted) / (Double(contacted) + priorContacted)
        }

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).floor", floor, 0...0.99)
            try RuleChecks.above("\(path).priorAccepted", priorAccepted, 0)
            try RuleChecks.above("\(path).priorContacted", priorContacted, 0)
            if priorContacted <= priorAccepted {
                throw RulesError(
                    key: "\(path).priorContacted",
                    problem:
                        "must be above priorAccepted (\(RuleChecks.text(priorAccepted))), is \(RuleChecks.text(priorContacted))"
                )
            }
            let prior = priorAccepted / priorContacted
            if floor >= prior {
                throw RulesError(
                    key: "\(path).floor",
                    problem:
                        "must be below the prior rate priorAccepted / priorContacted (\(RuleChecks.text(prior))), "
                        + "or no lead of a new type could ever be made, is \(RuleChecks.text(floor))"
                )
            }
        }
    }

    /// The risk level of a lead.
    public struct RiskLevel: Codable, Sendable, Hashable {
        /// Complaints count over this many last days.
        public var complaintWindowDays: Int
        /// A credit score (0–100) below this: high.
        public var highCreditBelow: Double
        /// A credit score below this: medium.
        public var mediumCreditBelow: Double
        /// At least this many complaints in the window: high.
        public var highComplaints: Int
        /// At least this many complaints in the window: medium.
        public var mediumComplaints: Int

        func validate(at path: String) throws(RulesError) {
            try RuleChecks.range("\(path).complaintWindowDays", complaintWindowDays, 1...365)
            try RuleChecks.range("\(path).highCreditBelow", highCreditBelow, 0...100)
            try RuleChecks.range("\(path).mediumCreditBelow", mediumCreditBelow, 0...100)
            if mediumCreditBelow < highCreditBelow {
                throw RulesError(
                    key: "\(path).mediumCreditBelow",
                    problem:
                        "must not be below highCreditBelow (\(RuleChecks.text(highCreditBelow))), is \(RuleChecks.text(mediumCreditBelow))"
                )
            }
            try RuleChecks.range("\(path).mediumComplaints", mediumComplaints, 1...1000)
            try RuleChecks.range("\(path).highComplaints", highComplaints, 1...1000)
            if highComplaints <= mediumComplaints {
                throw RulesError(
                    key: "\(path).highComplaints",
                    problem: "must be above mediumComplaints (\(mediumComplaints)), is \(highComplaints)"
                )
            }
        }
    }
}

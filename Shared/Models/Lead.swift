public import Foundation

/// Why a lead exists (SPEC §4).
public enum LeadType: String, Codable, Sendable, Hashable, CaseIterable {
    /// A plan that fits the customer's real usage better (often cheaper).
    case planFit = "plan_fit"
    /// Keep a customer who threatens to leave.
    case retention
    /// Offer a product of another family.
    case crossSell = "cross_sell"
    /// Win back an inactive customer.
    case winBack = "win_back"
}

/// How much a pitch risks the relationship.
public enum RiskLevel: String, Codable, Sendable, Hashable, CaseIterable {
    case low, medium, high
}

/// Who follows a lead up.
public enum Assignee: String, Codable, Sendable, Hashable, CaseIterable {
    /// The agent in the current contact.
    case inContact = "in_contact"
    /// The customer's account manager.
    case accountManager = "account_manager"
    /// The outbound calling team.
    case outboundTeam = "outbound_team"
}

/// A sales lead born in a service moment, on `cs.leads` (SPEC §2, §4).
public struct Lead: Codable, Sendable, Hashable, Validatable {
    /// Deterministic from customer, type, product and trigger, so a replay re-emits the same id.
    public var leadId: String
    /// The customer (the record key).
    public var customerId: String
    /// When the lead was made.
    public var createdAt: Date
    /// Why the lead exists.
    public var type: LeadType
    /// The catalog product offered.
    public var productId: String
    /// Its name, for people reading the lead.
    public var productName: String
    /// The pitch with its placeholders filled in.
    public var script: String
    /// The expected response rate, 0–1.
    public var propensity: Double
    /// What the customer would save per month, ≥ 0, when the lead is a cheaper fit.
    public var estimatedMonthlySaving: Double?
    /// How much the pitch risks the relationship.
    public var riskLevel: RiskLevel
    /// The customer's segment tier when the lead was made.
    public var tier: String
    /// Human-readable evidence.
    public var reason: String
    /// The eventId of the interaction (or the account event) that triggered the lead.
    public var triggerEventId: String
    /// How and when to follow up.
    public var followUp: FollowUp

    /// How and when to follow the lead up.
    public struct FollowUp: Codable, Sendable, Hashable {
        /// The channel to follow up on.
        public var channel: Channel
        /// Who follows up.
        public var assignee: Assignee
        /// Not before this time (contact-policy cool-down).
        public var notBefore: Date
        /// The lead is stale after this time; after `notBefore`.
        public var expiresAt: Date

        /// Makes a follow-up plan.
        public init(channel: Channel, assignee: Assignee, notBefore: Date, expiresAt: Date) {
            self.channel = channel
            self.assignee = assignee
            self.notBefore = notBefore
            self.expiresAt = expiresAt
        }
    }

    /// Makes a lead.
    public init(
        leadId: String,
        customerId: String,
        createdAt: Date,
        type: LeadType,
        productId: String,
        productName: String,
        script: String,
        propensity: Double,
        estimatedMonthlySaving: Double? = nil,
        riskLevel: RiskLevel,
        tier: String,
        reason: String,
        triggerEventId: String,
        followUp: FollowUp
    ) {
        self.leadId = leadId
        self.customerId = customerId
        self.createdAt = createdAt
        self.type = type
        self.productId = productId
        self.productName = productName
        self.script = script
        self.propensity = propensity
        self.estimatedMonthlySaving = estimatedMonthlySaving
        self.riskLevel = riskLevel
        self.tier = tier
        self.reason = reason
        self.triggerEventId = triggerEventId
        self.followUp = followUp
    }

    /// leadId, customerId and productId non-empty; propensity 0–1; estimatedMonthlySaving ≥ 0;
    /// followUp.expiresAt after followUp.notBefore.
    public func validationErrors(now: Date) -> [ValidationError] {
        var checks = Checks()
        checks.required("leadId", leadId)
        checks.required("customerId", customerId)
        checks.required("productId", productId)
        checks.range("propensity", propensity, 0...1)
        checks.atLeast("estimatedMonthlySaving", estimatedMonthlySaving, 0)
        checks.after("followUp.expiresAt", followUp.expiresAt, "followUp.notBefore", followUp.notBefore)
        return checks.errors
    }
}

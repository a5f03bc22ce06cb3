public import Models

/// Milliseconds in a day (event times are ms since the epoch throughout the lead service).
public let millisecondsPerDay: Int64 = 86_400_000

/// Everything the contact policy and the opportunities need to know about one customer, kept in
/// the `cs.leads.customers` changelog-backed store (keyed by customerId, so it lives on the
/// customer's partition and is rebuilt from Kafka after a restart or rebalance).
public struct CustomerLeadState: Codable, Sendable, Hashable {
    /// Marketing consent from the latest profile; nil until a profile says (nil counts as "no consent").
    public var consent: Bool?
    /// An `opt_out` signal or outcome; cleared only by a profile that restores consent.
    public var optedOut = false
    /// Credit score 0–100 from the latest profile.
    public var creditScore: Double?
    /// The current plan (a catalog productId) from the latest profile or a plan purchase.
    public var planId: String?
    /// From the customer's latest segment (nil until one arrived: treated as `low`).
    public var tier: Rules.Tier?
    /// From the customer's latest segment.
    public var activity: ActivityState?
    /// From the customer's latest segment.
    public var churnRisk: Rules.Level?
    /// The most recent bills' usage, oldest first (at most `planFit.usageBillCount`; one per period).
    public var bills: [BillUsage] = []
    /// Event times (ms) of complaints within the risk window.
    public var complaints: [Int64] = []
    /// The latest complaint has not been followed by a resolved contact.
    public var openComplaint = false
    /// Event time (ms) of the latest regulator or hotline escalation.
    public var lastEscalation: Int64?
    /// Declines (outcomes and `decline_marketing` signals) still able to block something.
    public var declines: [DeclineMark] = []
    /// Leads made for this customer still relevant to caps, duplicates or outcomes.
    public var leads: [LeadMark] = []
    /// A retention need waiting for a fitting catalog product.
    public var pendingRetention: PendingRetention?
    /// The last applied input offset per input topic (interactions, accounts, segments,
    /// outcomes): a replayed record at or below it is skipped (offsets of two topics do not compare).
    public var offsets = InputOffsets()
    /// Only in the partition's propensity entry (``LeadsProcessor/propensityKey``): outcome counts
    /// per `type/tier` on this partition. Nil (and not written) for customers.
    public var propensity: [String: PropensityCounts]?

    public init() {}

    /// The tier used by caps, propensity and follow-up (`low` before any segment: the strictest cap).
    public var effectiveTier: Rules.Tier { tier ?? .low }
}

/// The last applied offset of each of the four input topics (-1: none yet), inline (an array
/// would cost every customer a heap allocation).
public struct InputOffsets: Codable, Sendable, Hashable {
    /// Interactions, accounts, segments, outcomes.
    public static let count = 4
    private var interactions: Int64 = -1
    private var accounts: Int64 = -1
    private var segments: Int64 = -1
    private var outcomes: Int64 = -1

    public init() {}

    /// The offset of input slot 0–3 (interactions, accounts, segments, outcomes).
    public subscript(slot: Int) -> Int64 {
        get {
            switch slot {
            case 0: interactions
            case 1: accounts
            case 2: segments
            default: outcomes
            }
        }
        set {
            switch slot {
            case 0: interactions = newValue
            case 1: accounts = newValue
            case 2: segments = newValue
            default: outcomes = newValue
            }
        }
    }
}

/// One bill's usage.
public struct BillUsage: Codable, Sendable, Hashable {
    public var period: String
    public var usage: [String: Double]

    public init(period: String, usage: [String: Double]) {
        self.period = period
        self.usage = usage
    }
}

/// A decline: when, and of which lead type (nil when a `decline_marketing` signal came with no
/// lead of ours open).
public struct DeclineMark: Codable, Sendable, Hashable {
    public var at: Int64
    public var type: LeadType?

    public init(at: Int64, type: LeadType?) {
        self.at = at
        self.type = type
    }
}

/// A lead made for the customer, as the policy and the outcomes need it.
public struct LeadMark: Codable, Sendable, Hashable {
    public var leadId: String
    public var type: LeadType
    public var productId: String
    public var tier: Rules.Tier
    public var createdAt: Int64
    public var expiresAt: Int64
    /// A contacted/accepted/declined/opted_out outcome was counted for propensity.
    public var reached = false
    /// An accepted outcome was counted for propensity.
    public var accepted = false
    /// Accepted, declined or opted out: no longer open.
    public var closed = false

    public init(leadId: String, type: LeadType, productId: String, tier: Rules.Tier, createdAt: Int64, expiresAt: Int64)
    {
        self.leadId = leadId
        self.type = type
        self.productId = productId
        self.tier = tier
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    /// Open at `now`: not closed by an outcome and not expired.
    public func isOpen(at now: Int64) -> Bool { !closed && now < expiresAt }
}

/// A retention need that found no fitting plan: a product available by ``until`` that fits
/// makes the lead then.
public struct PendingRetention: Codable, Sendable, Hashable {
    /// The trigger's eventId (the lead id derives from it).
    public var triggerEventId: String
    /// The trigger's event time (ms).
    public var since: Int64
    /// The last event time (ms) at which a product may become available.
    public var until: Int64
    /// The trigger's evidence, for the lead's reason.
    public var evidence: String

    public init(triggerEventId: String, since: Int64, until: Int64, evidence: String) {
        self.triggerEventId = triggerEventId
        self.since = since
        self.until = until
        self.evidence = evidence
    }
}

/// Outcomes counted per (lead type, tier) on one partition: propensity's evidence.
public struct PropensityCounts: Codable, Sendable, Hashable {
    public var accepted = 0
    public var contacted = 0

    public init(accepted: Int = 0, contacted: Int = 0) {
        self.accepted = accepted
        self.contacted = contacted
    }
}

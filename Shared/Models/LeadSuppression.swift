public import Foundation

/// Which contact-policy rule stopped a lead (SPEC §4), in the order the policy checks them.
public enum SuppressionReason: String, Codable, Sendable, Hashable, CaseIterable {
    /// No marketing consent in the profile.
    case noConsent = "no_consent"
    /// The customer opted out (signal or outcome).
    case optedOut = "opted_out"
    /// A regulator or hotline escalation within the block window (default 30 days).
    case escalation
    /// The latest complaint has not been followed by a resolved contact.
    case openComplaint = "open_complaint"
    /// The trigger's sentiment is below the pause threshold (default −0.3).
    case negativeSentiment = "negative_sentiment"
    /// Two declines within 90 days: no marketing for 180 days.
    case repeatedDecline = "repeated_decline"
    /// A decline within the last 14 days: no lead at all.
    case recentDecline = "recent_decline"
    /// A decline of this lead type within 90 days.
    case declinedType = "declined_type"
    /// The per-tier cap of leads per rolling 30 days is reached.
    case frequencyCap = "frequency_cap"
    /// A lead for the same customer, type and product is still open.
    case duplicateOpen = "duplicate_open"
    /// The learned propensity is below the floor (default 0.05).
    case lowPropensity = "low_propensity"
}

/// A trigger the contact policy stopped, on `cs.lead-suppressions` (keyed by customerId), so the
/// KPI service can count suppressions by reason per window. Carries no PII: ids and codes only.
public struct LeadSuppression: Codable, Sendable, Hashable, Validatable {
    /// Deterministic from the trigger, type and product, so a replay re-emits the same id.
    public var suppressionId: String
    /// The customer (the record key).
    public var customerId: String
    /// Event time of the trigger.
    public var occurredAt: Date
    /// The lead that would have been made.
    public var type: LeadType
    /// The rule that stopped it.
    public var reason: SuppressionReason
    /// The customer's tier at the time, when known.
    public var tier: String?
    /// The eventId of the interaction or account event that triggered it.
    public var triggerEventId: String

    /// Makes a suppression record.
    public init(
        suppressionId: String,
        customerId: String,
        occurredAt: Date,
        type: LeadType,
        reason: SuppressionReason,
        tier: String? = nil,
        triggerEventId: String
    ) {
        self.suppressionId = suppressionId
        self.customerId = customerId
        self.occurredAt = occurredAt
        self.type = type
        self.reason = reason
        self.tier = tier
        self.triggerEventId = triggerEventId
    }

    /// suppressionId, customerId and triggerEventId non-empty.
    public func validationErrors(now: Date) -> [ValidationError] {
        var checks = Checks()
        checks.required("suppressionId", suppressionId)
        checks.required("customerId", customerId)
        checks.required("triggerEventId", triggerEventId)
        return checks.errors
    }
}

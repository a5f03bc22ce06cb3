public import Foundation

/// What happened to a lead.
public enum OutcomeKind: String, Codable, Sendable, Hashable, CaseIterable {
    case contacted, accepted, declined, unreachable
    /// The customer asked never to be pitched again.
    case optedOut = "opted_out"
}

/// Marketing's report on a lead, on `cs.lead-outcomes` (SPEC §2).
public struct LeadOutcome: Codable, Sendable, Hashable, Validatable {
    /// The lead reported on.
    public var leadId: String
    /// The customer (the record key).
    public var customerId: String
    /// When it happened.
    public var at: Date
    /// What happened.
    public var outcome: OutcomeKind
    /// The change in monthly revenue if accepted (negative for a cheaper plan).
    public var revenueDelta: Double?

    /// Makes an outcome.
    public init(leadId: String, customerId: String, at: Date, outcome: OutcomeKind, revenueDelta: Double? = nil) {
        self.leadId = leadId
        self.customerId = customerId
        self.at = at
        self.outcome = outcome
        self.revenueDelta = revenueDelta
    }

    /// leadId and customerId non-empty; revenueDelta finite.
    public func validationErrors(now: Date) -> [ValidationError] {
        var checks = Checks()
        checks.required("leadId", leadId)
        checks.required("customerId", customerId)
        checks.finite("revenueDelta", revenueDelta)
        return checks.errors
    }
}

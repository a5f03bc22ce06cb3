import Foundation
public import Models

/// The marketing team answering leads: for each lead on `cs.leads`, what happens and when, as
/// `cs.lead-outcomes` records (keyed by customerId).
///
/// The decision is a pure function of the lead (its draws are seeded by the leadId), so a lead
/// read twice — a replay, a restart, a second simulator — gets the same outcomes.
///
/// - The team first tries to reach the customer, not before `followUp.notBefore`: during the live
///   contact (`in_contact`, within a minute, always reached), by the account manager (mean 20 min,
///   90 % reached) or by the outbound team (mean 30 min, 75 % reached). A customer not reached, or
///   not reached before the lead expires, gives one `unreachable`.
/// - A reached customer gives `contacted`, then 20 s – 6 min later the answer: `accepted` with the
///   lead's propensity (the expected response rate), lowered for riskier pitches (×0.8 medium,
///   ×0.6 high) and raised in a live contact (×1.3), between 1 % and 90 %; `opted_out` with 2 %
///   (+4 % for a high-risk pitch, +2 % for retention); `declined` otherwise.
/// - An accepted lead's revenue delta is the saving given away (negative) for plan-fit and
///   retention leads that state one, else the product's monthly fee from the catalog for
///   cross-sell and win-back; nil when neither is known.
public struct MarketingTeam: Sendable {
    private let fees: [String: Double]
    private let salt: UInt64

    /// Makes a team that knows the catalog's fees.
    ///
    /// - Parameters:
    ///   - catalog: the products leads offer (for the revenue of an accepted lead).
    ///   - salt: mixed into every lead's seed; two teams with different salts decide differently.
    public init(catalog: [Product], salt: UInt64 = 0) {
        var fees: [String: Double] = [:]
        for product in catalog { fees[product.productId] = product.monthlyFee }
        self.fees = fees
        self.salt = salt
    }

    /// The outcomes of a lead in time order: `[contacted, accepted|declined|opted_out]` or
    /// `[unreachable]`.
    public func outcomes(for lead: Lead) -> [LeadOutcome] {
        var random = SimulationRandom(key: lead.leadId, salt: salt)
        let base = max(lead.createdAt, lead.followUp.notBefore)
        let (reachShare, delay): (Double, TimeInterval) =
            switch lead.followUp.assignee {
            case .inContact: (1, random.double(5...60))
            case .accountManager: (0.9, clamped(random.exponential(mean: 1200), 120...14_400))
            case .outboundTeam: (0.75, clamped(random.exponential(mean: 1800), 180...21_600))
            }
        let attempt = whole(base.addingTimeInterval(delay))
        let reached = random.chance(reachShare)
        guard reached, attempt < lead.followUp.expiresAt else {
            let at = min(attempt, lead.followUp.expiresAt)
            return [LeadOutcome(leadId: lead.leadId, customerId: lead.customerId, at: at, outcome: .unreachable)]
        }
        let contacted = LeadOutcome(leadId: lead.leadId, customerId: lead.customerId, at: attempt, outcome: .contacted)
        let riskFactor: Double =
            switch lead.riskLevel {
            case .low: 1
            case .medium: 0.8
            case .high: 0.6
            }
        let accept = clamped(
            lead.propensity * riskFactor * (lead.followUp.assignee == .inContact ? 1.3 : 1),
            0.01...0.9
        )
        let optOut = 0.02 + (lead.riskLevel == .high ? 0.04 : 0) + (lead.type == .retention ? 0.02 : 0)
        let draw = random.unit()
        let answerAt = whole(attempt.addingTimeInterval(random.double(20...360)))
        let answer: LeadOutcome
        if draw < accept {
            answer = LeadOutcome(
                leadId: lead.leadId,
                customerId: lead.customerId,
                at: answerAt,
                outcome: .accepted,
                revenueDelta: revenue(of: lead)
            )
        } else if draw < accept + optOut {
            answer = LeadOutcome(leadId: lead.leadId, customerId: lead.customerId, at: answerAt, outcome: .optedOut)
        } else {
            answer = LeadOutcome(leadId: lead.leadId, customerId: lead.customerId, at: answerAt, outcome: .declined)
        }
        return [contacted, answer]
    }

    private func revenue(of lead: Lead) -> Double? {
        switch lead.type {
        case .planFit, .retention:
            if let saving = lead.estimatedMonthlySaving { return saving == 0 ? 0 : -saving }
            return lead.type == .retention ? nil : fees[lead.productId]
        case .crossSell, .winBack:
            return fees[lead.productId]
        }
    }

    /// Whole milliseconds, as the wire keeps them, so a decoded outcome equals the decided one.
    private func whole(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }
}

import Foundation
import Models
import Simulator
import Testing

func makeLead(
    _ id: String,
    type: LeadType = .crossSell,
    productId: String = "bb-1000m",
    propensity: Double = 0.3,
    saving: Double? = nil,
    risk: RiskLevel = .low,
    assignee: Assignee = .outboundTeam,
    createdAt: Date = testStart,
    notBefore: Date? = nil
) -> Lead {
    Lead(
        leadId: id,
        customerId: "cust-\(id)",
        createdAt: createdAt,
        type: type,
        productId: productId,
        productName: "千兆光纤宽带",
        script: "您好",
        propensity: propensity,
        estimatedMonthlySaving: saving,
        riskLevel: risk,
        tier: "mid",
        reason: "test",
        triggerEventId: "evt-\(id)",
        followUp: Lead.FollowUp(
            channel: .phone,
            assignee: assignee,
            notBefore: notBefore ?? createdAt,
            expiresAt: createdAt.addingTimeInterval(14 * 86_400)
        )
    )
}

@Suite struct MarketingTeamTests {
    let team = MarketingTeam(catalog: SimulatedCatalog.products(start: testStart))

    @Test func theSameLeadGetsTheSameOutcomes() {
        let lead = makeLead("lead-1")
        #expect(team.outcomes(for: lead) == team.outcomes(for: lead))
        #expect(MarketingTeam(catalog: []).outcomes(for: lead).map(\.at) == team.outcomes(for: lead).map(\.at))
        // Different leads are decided independently.
        let answers = Set((0..<50).map { team.outcomes(for: makeLead("lead-\($0)")).map(\.at) })
        #expect(answers.count == 50)
    }

    @Test func outcomesAreValidSequencesAfterTheLead() throws {
        for index in 0..<2000 {
            let notBefore = index % 3 == 0 ? testStart.addingTimeInterval(3600) : nil
            let lead = makeLead(
                "lead-\(index)",
                assignee: Assignee.allCases[index % 3],
                notBefore: notBefore
            )
            let outcomes = team.outcomes(for: lead)
            for outcome in outcomes {
                #expect(outcome.validationErrors(now: outcome.at).isEmpty)
                #expect(outcome.leadId == lead.leadId && outcome.customerId == lead.customerId)
                #expect(outcome.at >= lead.followUp.notBefore && outcome.at <= lead.followUp.expiresAt)
                // Round-trips through the wire unchanged (whole milliseconds).
                #expect(try TandemJSON.decode(LeadOutcome.self, from: TandemJSON.encode(outcome)) == outcome)
            }
            switch outcomes.map(\.outcome) {
            case [.unreachable]:
                #expect(lead.followUp.assignee != .inContact)
            case [.contacted, .accepted], [.contacted, .declined], [.contacted, .optedOut]:
                #expect(outcomes[0].at < outcomes[1].at)
            default:
                Issue.record("unexpected sequence \(outcomes.map(\.outcome))")
            }
        }
    }

    @Test func responseFollowsPropensityAndRisk() {
        func shares(propensity: Double, risk: RiskLevel) -> (unreachable: Double, accepted: Double, optedOut: Double) {
            let outcomes = (0..<4000).map {
                team.outcomes(for: makeLead("p\(propensity)-\(risk)-\($0)", propensity: propensity, risk: risk))
            }
            let contacted = outcomes.filter { $0.count == 2 }
            return (
                Double(outcomes.count - contacted.count) / 4000,
                Double(contacted.filter { $0[1].outcome == .accepted }.count) / Double(contacted.count),
                Double(contacted.filter { $0[1].outcome == .optedOut }.count) / Double(contacted.count)
            )
        }
        // Outbound team: 25 % unreachable; accepted = propensity for a low-risk pitch; 2 % opt out.
        let low = shares(propensity: 0.3, risk: .low)
        #expect(abs(low.unreachable - 0.25) < 0.03, "\(low)")
        #expect(abs(low.accepted - 0.3) < 0.03, "\(low)")
        #expect(abs(low.optedOut - 0.02) < 0.01, "\(low)")
        // A high-risk pitch: 0.3 × 0.6 = 18 % accepted, 6 % opt out.
        let high = shares(propensity: 0.3, risk: .high)
        #expect(abs(high.accepted - 0.18) < 0.03, "\(high)")
        #expect(abs(high.optedOut - 0.06) < 0.015, "\(high)")
        let rare = shares(propensity: 0.05, risk: .low)
        #expect(rare.accepted < 0.08, "\(rare)")
    }

    @Test func acceptedLeadsCarryTheirRevenueChange() throws {
        // A plan-fit lead gives its saving away; a cross-sell adds the product's fee (千兆宽带 100).
        let planFit = (0..<200).map {
            team.outcomes(
                for: makeLead("fit-\($0)", type: .planFit, productId: "plan-5g-59", propensity: 0.9, saving: 40)
            )
        }
        let acceptedFit = try #require(planFit.first { $0.last?.outcome == .accepted })
        #expect(acceptedFit.last?.revenueDelta == -40)
        let crossSell = (0..<200).map { team.outcomes(for: makeLead("cs-\($0)", propensity: 0.9)) }
        let acceptedCross = try #require(crossSell.first { $0.last?.outcome == .accepted })
        #expect(acceptedCross.last?.revenueDelta == 100)
        #expect(crossSell.flatMap { $0 }.filter { $0.outcome != .accepted }.allSatisfy { $0.revenueDelta == nil })
    }

    @Test func aLeadInAContactIsAnsweredWithinMinutes() {
        for index in 0..<200 {
            let lead = makeLead("live-\(index)", assignee: .inContact)
            let outcomes = team.outcomes(for: lead)
            #expect(outcomes.count == 2)
            #expect(outcomes[0].at.timeIntervalSince(lead.createdAt) <= 60.001)
            #expect(outcomes[1].at.timeIntervalSince(outcomes[0].at) <= 360.001)
        }
    }
}

import Foundation
import Models
import Testing

@Suite("Lead and LeadOutcome")
struct LeadTests {
    private func lead() -> Lead {
        Lead(
            leadId: "lead-3f9a",
            customerId: "C-10086",
            createdAt: utc(2026, 11, 25, 8, 35),
            type: .planFit,
            productId: "P-99",
            productName: "畅享 99 套餐",
            script: "张先生您好，畅享 99 套餐每月可为您节省100.9元。",
            propensity: 0.35,
            estimatedMonthlySaving: 100.9,
            riskLevel: .low,
            tier: "gold",
            reason: "3 bills avg 199.9, usage fits P-99; wants_cheaper_plan",
            triggerEventId: "cti-20261125-000123",
            followUp: .init(
                channel: .phone,
                assignee: .accountManager,
                notBefore: utc(2026, 11, 26, 8, 35),
                expiresAt: utc(2026, 12, 9, 8, 35)
            )
        )
    }

    @Test func decodesTheLeadFixture() throws {
        let decoded = try TandemJSON.decode(Lead.self, from: try fixture("lead"))
        #expect(decoded == lead())
        #expect(decoded.validationErrors(now: now).isEmpty)
        #expect(try roundTrip(decoded) == decoded)
    }

    @Test func wireNamesOfTheEnums() throws {
        #expect(LeadType.allCases.map(\.rawValue) == ["plan_fit", "retention", "cross_sell", "win_back"])
        #expect(RiskLevel.allCases.map(\.rawValue) == ["low", "medium", "high"])
        #expect(Assignee.allCases.map(\.rawValue) == ["in_contact", "account_manager", "outbound_team"])
        #expect(
            OutcomeKind.allCases.map(\.rawValue) == ["contacted", "accepted", "declined", "unreachable", "opted_out"]
        )
        let followUp = try #require(try jsonObject(lead())["followUp"] as? [String: Any])
        #expect(followUp["assignee"] as? String == "account_manager")
        #expect(followUp["expiresAt"] as? String == "2026-12-09T08:35:00.000Z")
    }

    @Test func leadIdCustomerAndProductRequired() {
        var l = lead()
        l.leadId = ""
        l.customerId = ""
        l.productId = ""
        #expect(
            rules(l.validationErrors(now: now)) == ["leadId:required", "customerId:required", "productId:required"]
        )
    }

    @Test func propensityZeroToOne() {
        var l = lead()
        l.propensity = 1.01
        #expect(rules(l.validationErrors(now: now)) == ["propensity:range"])
        l.propensity = -0.01
        #expect(rules(l.validationErrors(now: now)) == ["propensity:range"])
        l.propensity = 0
        #expect(l.validationErrors(now: now).isEmpty)
        l.propensity = 1
        #expect(l.validationErrors(now: now).isEmpty)
    }

    @Test func savingNotNegative() {
        var l = lead()
        l.estimatedMonthlySaving = -3
        #expect(rules(l.validationErrors(now: now)) == ["estimatedMonthlySaving:range"])
        l.estimatedMonthlySaving = nil
        #expect(l.validationErrors(now: now).isEmpty)
    }

    @Test func followUpExpiresAfterItStarts() {
        var l = lead()
        l.followUp.expiresAt = l.followUp.notBefore
        #expect(rules(l.validationErrors(now: now)) == ["followUp.expiresAt:order"])
    }

    @Test func aBadNestedChannelNamesItsPath() {
        let json = String(decoding: try! fixture("lead"), as: UTF8.self)
            .replacingOccurrences(of: #""channel": "phone""#, with: #""channel": "pigeon""#)
        guard case .decoding(let field, _) = decodingError(Lead.self, json) else {
            Issue.record("expected a decoding error")
            return
        }
        #expect(field == "followUp.channel")
    }

    // MARK: - LeadOutcome

    @Test func decodesTheOutcomeFixture() throws {
        let decoded = try TandemJSON.decode(LeadOutcome.self, from: try fixture("lead-outcome"))
        let expected = LeadOutcome(
            leadId: "lead-3f9a",
            customerId: "C-10086",
            at: utc(2026, 11, 27, 2, 0),
            outcome: .accepted,
            revenueDelta: -100.9
        )
        #expect(decoded == expected)
        #expect(decoded.validationErrors(now: now).isEmpty)
        #expect(try roundTrip(decoded) == decoded)
    }

    @Test func outcomeLeadAndCustomerRequired() {
        let outcome = LeadOutcome(leadId: "", customerId: "", at: now, outcome: .optedOut)
        #expect(rules(outcome.validationErrors(now: now)) == ["leadId:required", "customerId:required"])
        #expect(
            decodingError(LeadOutcome.self, #"{"customerId":"c","at":"2026-11-25T08:00:00Z","outcome":"declined"}"#)
                == .decoding(field: "leadId", message: "required field is missing")
        )
    }

    @Test func outcomeWithoutRevenueOmitsIt() throws {
        let outcome = LeadOutcome(leadId: "l", customerId: "c", at: utc(2026, 11, 25), outcome: .optedOut)
        #expect(
            try TandemJSON.encodeString(outcome)
                == #"{"at":"2026-11-25T00:00:00.000Z","customerId":"c","leadId":"l","outcome":"opted_out"}"#
        )
    }
}

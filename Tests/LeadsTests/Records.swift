import Foundation
import Leads
import Models

/// Input records of the lead scenarios (topic, key, JSON value).
typealias Input = (topic: String, key: String?, value: [UInt8]?)

enum Records {
    static func product(_ product: Product) -> Input {
        ("cs.catalog", product.productId, try! TandemJSON.encode(product))
    }

    static func profile(
        _ customer: String,
        at: Double,
        consent: Bool?,
        plan: String = "P150",
        credit: Double = 80
    )
        -> Input
    {
        let event = AccountEvent.profile(
            AccountEvent.Profile(
                customerId: customer,
                at: date(at),
                region: "310000",
                joinedAt: date(-1000),
                creditScore: credit,
                influence: 10,
                points: 0,
                marketingConsent: consent,
                planId: plan
            )
        )
        return ("cs.accounts", customer, try! TandemJSON.encode(event))
    }

    /// The three standard bills (average dataMB 9,000, voiceMinutes 250), days −60, −30 and `last`.
    static func bills(_ customer: String, last: Double = 0, scale: Double = 1) -> [Input] {
        Fixtures.bills.enumerated().map { index, bill in
            let event = AccountEvent.bill(
                AccountEvent.Bill(
                    customerId: customer,
                    at: date(last - Double(2 - index) * 30),
                    period: bill.period,
                    amount: 150,
                    usage: bill.usage.mapValues { $0 * scale }
                )
            )
            return ("cs.accounts", customer, try! TandemJSON.encode(event))
        }
    }

    static func segment(
        _ customer: String,
        at: Double,
        version: Int = 1,
        tier: Rules.Tier = .mid,
        activity: ActivityState = .active,
        churnRisk: Rules.Level = .low
    ) -> Input {
        let segment = CustomerSegment(
            customerId: customer,
            version: version,
            asOf: date(at),
            tier: tier,
            score: 50,
            arpu: 150,
            region: "310000",
            regionClass: "tier1",
            regionCoefficient: 1.3,
            rfm: nil,
            servicePolicy: Rules.defaults.segmentation.servicePolicy[tier],
            activity: activity,
            churnRisk: churnRisk,
            tags: .init(
                tenure: "1y_3y",
                spend: "mid",
                loyalty: "none",
                activity: activity.rawValue,
                products: "single"
            ),
            changed: ["tier"],
            reasons: []
        )
        return ("cs.segments", customer, try! TandemJSON.encode(segment))
    }

    static func contact(
        _ customer: String,
        _ eventId: String,
        at: Double,
        channel: Channel = .phone,
        kind: InteractionKind = .inquiry,
        topic: String? = nil,
        resolved: Bool? = nil,
        csat: Int? = nil,
        sentiment: Double? = nil,
        signals: [String]? = nil
    ) -> Input {
        let interaction = Interaction(
            eventId: eventId,
            occurredAt: date(at),
            receivedAt: date(at),
            channel: channel,
            kind: kind,
            customerId: customer,
            topic: topic,
            answered: channel.isLive ? true : nil,
            resolved: resolved,
            csat: csat,
            sentiment: sentiment,
            signals: signals
        )
        return ("cs.interactions", customer, try! TandemJSON.encode(interaction))
    }

    static func outcome(_ customer: String, lead: String, at: Double, _ kind: OutcomeKind) -> Input {
        let outcome = LeadOutcome(leadId: lead, customerId: customer, at: date(at), outcome: kind)
        return ("cs.lead-outcomes", customer, try! TandemJSON.encode(outcome))
    }
}

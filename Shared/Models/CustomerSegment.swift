public import Foundation

/// A customer's segment on `cs.segments` (SPEC §3), keyed by customerId: value, tier, the service
/// the tier earns, RFM, activity, churn risk and tags, with what changed since the customer's
/// previous record and why.
///
/// Segmentation publishes a record only when one of its fields other than `version`, `asOf`,
/// `changed` and `reasons` differs from the customer's previous record; `version` counts the
/// customer's records from 1, so a reader keeps the highest version it has seen.
public struct CustomerSegment: Codable, Sendable, Hashable, Validatable {
    /// The customer (the record key).
    public var customerId: String
    /// 1 for the customer's first record, then +1 per record.
    public var version: Int
    /// The event time the segment was computed at.
    public var asOf: Date
    /// Tier from ``score``, with hysteresis.
    public var tier: Rules.Tier
    /// Composite value score 0–100, one decimal.
    public var score: Double
    /// Mean amount of the last bills (at most `segmentation.arpu.billCount`), two decimals; nil
    /// before the first bill.
    public var arpu: Double?
    /// The region code of the profile, nil when the profile names none.
    public var region: String?
    /// The region's class (`tier1`, `tier2`, `tier3`, `county`, `rural` by default).
    public var regionClass: String
    /// The class's economic coefficient: the ARPU part of the score is divided by it.
    public var regionCoefficient: Double
    /// RFM scores and named segment; nil before the first bill or purchase.
    public var rfm: RFM?
    /// The service the tier earns.
    public var servicePolicy: Rules.Segmentation.ServicePolicy
    /// Active, cooling or inactive, by days since the last contact, bill or purchase.
    public var activity: ActivityState
    /// Churn risk from signals, complaints and activity.
    public var churnRisk: Rules.Level
    /// Tags on several axes.
    public var tags: Tags
    /// The fields that differ from the previous record (all of them in a first record): `tier`,
    /// `score`, `arpu`, `region`, `rfm`, `servicePolicy`, `activity`, `churnRisk`, `tags.tenure`,
    /// `tags.spend`, `tags.loyalty`, `tags.activity`, `tags.products`.
    public var changed: [String]
    /// Human-readable reasons, one per changed aspect, e.g.
    /// `score 71.2 ≥ 70 → high (ARPU 182.40 over 3 bills ÷ region tier1 coefficient 1.3 …)`.
    public var reasons: [String]

    /// RFM scores 1–5 and the named segment of the scores.
    public struct RFM: Codable, Sendable, Hashable {
        /// Recency score 1–5 (days since the last bill or purchase).
        public var recency: Int
        /// Frequency score 1–5 (bills and purchases in the window).
        public var frequency: Int
        /// Monetary score 1–5 (their sum in the window).
        public var monetary: Int
        /// The segment's stable id, e.g. `cant_lose`.
        public var segment: String
        /// The segment's name, e.g. `Can't Lose`.
        public var segmentName: String

        /// Makes the RFM part.
        public init(recency: Int, frequency: Int, monetary: Int, segment: String, segmentName: String) {
            self.recency = recency
            self.frequency = frequency
            self.monetary = monetary
            self.segment = segment
            self.segmentName = segmentName
        }
    }

    /// Tags on several axes at once; `unknown` where the input does not tell yet.
    public struct Tags: Codable, Sendable, Hashable {
        /// Years since joining, banded (`under_1y` … `10y_plus`); `unknown` without `joinedAt`.
        public var tenure: String
        /// ARPU band (`budget` … `top`); `unknown` before the first bill.
        public var spend: String
        /// Loyalty points band (`none` … `platinum`).
        public var loyalty: String
        /// The activity state.
        public var activity: String
        /// Distinct products held (purchased products and the current plan), banded (`none`, `single`, …).
        public var products: String

        /// Makes the tags.
        public init(tenure: String, spend: String, loyalty: String, activity: String, products: String) {
            self.tenure = tenure
            self.spend = spend
            self.loyalty = loyalty
            self.activity = activity
            self.products = products
        }
    }

    /// Makes a segment record.
    public init(
        customerId: String,
        version: Int,
        asOf: Date,
        tier: Rules.Tier,
        score: Double,
        arpu: Double?,
        region: String?,
        regionClass: String,
        regionCoefficient: Double,
        rfm: RFM?,
        servicePolicy: Rules.Segmentation.ServicePolicy,
        activity: ActivityState,
        churnRisk: Rules.Level,
        tags: Tags,
        changed: [String],
        reasons: [String]
    ) {
        self.customerId = customerId
        self.version = version
        self.asOf = asOf
        self.tier = tier
        self.score = score
        self.arpu = arpu
        self.region = region
        self.regionClass = regionClass
        self.regionCoefficient = regionCoefficient
        self.rfm = rfm
        self.servicePolicy = servicePolicy
        self.activity = activity
        self.churnRisk = churnRisk
        self.tags = tags
        self.changed = changed
        self.reasons = reasons
    }

    /// customerId non-empty, version ≥ 1, score 0–100, arpu ≥ 0, RFM scores 1–5.
    public func validationErrors(now: Date) -> [ValidationError] {
        var checks = Checks()
        checks.required("customerId", customerId)
        checks.atLeast("version", version, 1)
        checks.range("score", score, 0...100)
        checks.atLeast("arpu", arpu, 0)
        if let rfm {
            checks.range("rfm.recency", rfm.recency, 1...5)
            checks.range("rfm.frequency", rfm.frequency, 1...5)
            checks.range("rfm.monetary", rfm.monetary, 1...5)
        }
        return checks.errors
    }
}

extension CustomerSegment {
    /// The six fields of a `cs.segments` record a consumer acting on tier, activity and churn
    /// risk reads (the lead handoff), decoded without the rest: Foundation's decoder spends most
    /// of a segment's cost unwrapping the fields, and the lead service spent a quarter of its CPU
    /// on segments it used six fields of. The record must still be JSON with these fields well
    /// typed; the fields not read are not checked (that is the segmentation service's contract).
    public struct Essentials: Decodable, Sendable, Hashable, Validatable {
        public var customerId: String
        public var version: Int
        public var asOf: Date
        public var tier: Rules.Tier
        public var activity: ActivityState
        public var churnRisk: Rules.Level

        public init(
            customerId: String,
            version: Int,
            asOf: Date,
            tier: Rules.Tier,
            activity: ActivityState,
            churnRisk: Rules.Level
        ) {
            self.customerId = customerId
            self.version = version
            self.asOf = asOf
            self.tier = tier
            self.activity = activity
            self.churnRisk = churnRisk
        }

        public init(_ segment: CustomerSegment) {
            customerId = segment.customerId
            version = segment.version
            asOf = segment.asOf
            tier = segment.tier
            activity = segment.activity
            churnRisk = segment.churnRisk
        }

        /// ``CustomerSegment``'s rules for these fields.
        public func validationErrors(now: Date) -> [ValidationError] {
            var checks = Checks()
            checks.required("customerId", customerId)
            checks.atLeast("version", version, 1)
            return checks.errors
        }
    }
}

/// A customer's activity (SPEC §3): active while the last contact, bill or purchase is at most
/// `activeMaxDays` old, cooling up to `coolingMaxDays`, then inactive.
public enum ActivityState: String, Codable, Sendable, Hashable, CaseIterable {
    case active, cooling, inactive
}

extension FastJSON {
    /// Appends a ``CustomerSegment`` as JSON to `buffer`: the bytes ``TandemJSON/encode(_:)`` returns.
    ///
    /// On error nothing is appended.
    ///
    /// - Throws: ``ModelError/encoding(message:)`` for a non-finite number or a date outside years 0001–9999.
    public static func encode(_ segment: CustomerSegment, into buffer: inout [UInt8]) throws(ModelError) {
        let s = segment
        let asOf = try millis("asOf", s.asOf)
        try finite("score", s.score)
        try finite("arpu", s.arpu)
        try finite("regionCoefficient", s.regionCoefficient)
        var bound = Bound()
        bound.add(s.activity.rawValue, s.churnRisk.rawValue, s.customerId, s.region, s.regionClass, s.tier.rawValue)
        bound.add(s.rfm?.segment, s.rfm?.segmentName, s.servicePolicy.queue)
        bound.add(s.tags.activity, s.tags.loyalty, s.tags.products, s.tags.spend, s.tags.tenure)
        bound.add(s.changed)
        bound.add(s.reasons)
        FastJSONWriter.write(into: &buffer, bound: bound.bytes) { writer in
            writer.beginObject()
            writer.field("activity", s.activity.rawValue)
            writer.field("arpu", s.arpu)
            writer.field("asOf", millis: asOf)
            writer.field("changed", s.changed)
            writer.field("churnRisk", s.churnRisk.rawValue)
            writer.field("customerId", s.customerId)
            writer.field("reasons", s.reasons)
            writer.field("region", s.region)
            writer.field("regionClass", s.regionClass)
            writer.field("regionCoefficient", s.regionCoefficient)
            if let rfm = s.rfm {
                writer.key("rfm")
                writer.beginObject()
                writer.field("frequency", Int64(rfm.frequency))
                writer.field("monetary", Int64(rfm.monetary))
                writer.field("recency", Int64(rfm.recency))
                writer.field("segment", rfm.segment)
                writer.field("segmentName", rfm.segmentName)
                writer.endObject()
            }
            writer.field("score", s.score)
            writer.key("servicePolicy")
            writer.beginObject()
            writer.field("crossRegionService", s.servicePolicy.crossRegionService)
            writer.field("dedicatedAccountManager", s.servicePolicy.dedicatedAccountManager)
            writer.field("priority", Int64(s.servicePolicy.priority))
            writer.field("queue", s.servicePolicy.queue)
            writer.endObject()
            writer.key("tags")
            writer.beginObject()
            writer.field("activity", s.tags.activity)
            writer.field("loyalty", s.tags.loyalty)
            writer.field("products", s.tags.products)
            writer.field("spend", s.tags.spend)
            writer.field("tenure", s.tags.tenure)
            writer.endObject()
            writer.field("tier", s.tier.rawValue)
            writer.field("version", Int64(s.version))
            writer.endObject()
        }
    }
}

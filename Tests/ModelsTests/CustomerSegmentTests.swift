import Foundation
import Models
import Testing

@Suite("CustomerSegment")
struct CustomerSegmentTests {
    static func sample() -> CustomerSegment {
        CustomerSegment(
            customerId: "C-10086",
            version: 3,
            asOf: utc(2026, 11, 25, 8, 35),
            tier: .high,
            score: 71.2,
            arpu: 182.4,
            region: "310000",
            regionClass: "tier1",
            regionCoefficient: 1.3,
            rfm: .init(recency: 5, frequency: 4, monetary: 4, segment: "champions", segmentName: "Champions"),
            servicePolicy: .init(queue: "vip", dedicatedAccountManager: true, priority: 1, crossRegionService: true),
            activity: .active,
            churnRisk: .low,
            tags: .init(tenure: "5_to_10y", spend: "upper", loyalty: "silver", activity: "active", products: "single"),
            changed: ["tier", "score", "servicePolicy"],
            reasons: ["score 71.2 ≥ 70 → high"]
        )
    }

    @Test func roundTripsThroughTandemJSON() throws {
        let segment = Self.sample()
        #expect(try roundTrip(segment) == segment)
        #expect(segment.validationErrors(now: now).isEmpty)
    }

    @Test func wireShape() throws {
        let object = try jsonObject(Self.sample())
        #expect(object["asOf"] as? String == "2026-11-25T08:35:00.000Z")
        #expect(object["tier"] as? String == "high")
        #expect(object["churnRisk"] as? String == "low")
        let rfm = try #require(object["rfm"] as? [String: Any])
        #expect(rfm["segment"] as? String == "champions")
        #expect(rfm["segmentName"] as? String == "Champions")
        let policy = try #require(object["servicePolicy"] as? [String: Any])
        #expect(policy["queue"] as? String == "vip")
        #expect(policy["priority"] as? Int == 1)
        let tags = try #require(object["tags"] as? [String: Any])
        #expect(tags["products"] as? String == "single")
        #expect(ActivityState.allCases.map(\.rawValue) == ["active", "cooling", "inactive"])
    }

    @Test func essentialsAreTheSixFieldsOfTheFullRecordAndCheckTheirRules() throws {
        let segment = Self.sample()
        let bytes = try TandemJSON.encode(segment)
        let essentials = try TandemJSON.decoder().decode(CustomerSegment.Essentials.self, from: Data(bytes))
        #expect(essentials == CustomerSegment.Essentials(segment))
        #expect(essentials.tier == .high && essentials.churnRisk == .low && essentials.activity == .active)
        #expect(essentials.version == 3 && essentials.asOf == segment.asOf)
        #expect(essentials.validationErrors(now: now).isEmpty)

        var object = try jsonObject(segment)
        object["tier"] = "platinum"
        #expect(throws: (any Error).self) {
            try TandemJSON.decoder().decode(
                CustomerSegment.Essentials.self,
                from: JSONSerialization.data(withJSONObject: object)
            )
        }
        var broken = CustomerSegment.Essentials(segment)
        broken.version = 0
        broken.customerId = ""
        #expect(broken.validationErrors(now: now).map(\.field) == ["customerId", "version"])
    }

    @Test func optionalPartsAreLeftOutWhenUnknown() throws {
        var segment = Self.sample()
        segment.arpu = nil
        segment.rfm = nil
        segment.region = nil
        let object = try jsonObject(segment)
        #expect(object["arpu"] == nil && object["rfm"] == nil && object["region"] == nil)
        #expect(try roundTrip(segment) == segment)
    }

    @Test func theFastWriterWritesWhatTandemJSONWrites() throws {
        var segments = [Self.sample()]
        var bare = Self.sample()
        bare.arpu = nil
        bare.rfm = nil
        bare.region = nil
        bare.reasons = ["quote \" backslash \\ newline \n 中文 ≥"]
        bare.score = 0.1
        bare.regionCoefficient = 0.85
        segments.append(bare)
        for segment in segments {
            var fast: [UInt8] = []
            try FastJSON.encode(segment, into: &fast)
            #expect(
                String(decoding: fast, as: UTF8.self) == String(decoding: try TandemJSON.encode(segment), as: UTF8.self)
            )
        }
    }

    @Test func validation() {
        var segment = Self.sample()
        segment.customerId = ""
        segment.version = 0
        segment.score = 100.5
        segment.rfm?.recency = 6
        #expect(
            rules(segment.validationErrors(now: now)) == [
                "customerId:required", "version:range", "score:range", "rfm.recency:range",
            ]
        )
    }
}

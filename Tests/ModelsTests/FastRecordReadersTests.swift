import Foundation
import Models
import Testing

/// The record readers of the services' hot paths (segment essentials for leads, suppressions for
/// KPI) answer exactly as Foundation's decoder does, or not at all.
@Suite("fast record readers")
struct FastRecordReadersTests {
    /// The reader's answer against the reference decoder's for the same bytes: when the reader
    /// answers, the reference decodes the same value.
    static func agrees<Record: Decodable & Equatable>(
        _ payload: [UInt8],
        _ read: (UnsafeRawBufferPointer) -> Record?
    ) -> Bool {
        guard let fast = payload.withUnsafeBytes(read) else { return true }  // the reference decides
        return (try? TandemJSON.decoder().decode(Record.self, from: Data(payload))) == fast
    }

    /// 10,000 mutations of `payload`: never a disagreement, and enough answers to mean something.
    static func mutations<Record: Decodable & Equatable>(
        of payload: String,
        seed: UInt64,
        _ read: (UnsafeRawBufferPointer) -> Record?
    ) {
        var generator = RecordGenerator(seed: seed)
        var answered = 0
        for _ in 0..<10_000 {
            var bytes = Array(payload.utf8)
            generator.mutate(&bytes)
            let agreed = agrees(bytes, read)
            #expect(agreed, "\(bytes)")
            if bytes.withUnsafeBytes(read) != nil { answered += 1 }
        }
        #expect(answered > 1000, "the fast walk answers for the mutations that stay valid")
    }

    // MARK: Segment essentials

    static let segment = #"""
        {"customerId":"C-0042","version":7,"asOf":"2026-11-25T08:00:00Z","tier":"high","score":81.5,"arpu":182.4,
        "region":"310000","regionClass":"tier1","regionCoefficient":1.3,"rfm":{"recency":5,"frequency":4,"monetary":5,
        "segment":"champions","segmentName":"Champions"},"servicePolicy":{"queuePriority":1,"dedicatedManager":true},
        "activity":"cooling","churnRisk":"medium","tags":{"tenure":"veteran","spend":"high","products":["5G","宽带"]},
        "changed":["tier"],"reasons":["score 81.5 ≥ 70 → high"]}
        """#

    @Test func readsTheEssentialsOfAWholeSegment() {
        let reader = FastSegmentEssentialsReader()
        let expected = CustomerSegment.Essentials(
            customerId: "C-0042",
            version: 7,
            asOf: utc(2026, 11, 25, 8),
            tier: .high,
            activity: .cooling,
            churnRisk: .medium
        )
        #expect(Array(Self.segment.utf8).withUnsafeBytes { reader.read($0) } == expected)
        let agreed = Self.agrees(Array(Self.segment.utf8), reader.read)
        #expect(agreed)
    }

    @Test(arguments: [
        "", "null", "[]", "{}", #"{"customerId":"C-1"}"#,
        #"{"customerId":"C","version":1.5,"asOf":"2026-11-25T08:00:00Z","tier":"high","activity":"active","churnRisk":"low"}"#,
        #"{"customerId":"C","version":1e1,"asOf":"2026-11-25T08:00:00Z","tier":"high","activity":"active","churnRisk":"low"}"#,
        #"{"customerId":"C","version":1,"asOf":"yesterday","tier":"high","activity":"active","churnRisk":"low"}"#,
        #"{"customerId":"C","version":1,"asOf":"2026-11-25T08:00:00Z","tier":"gold","activity":"active","churnRisk":"low"}"#,
        #"{"customerId":"C","version":1,"asOf":"2026-11-25T08:00:00Z","tier":"high","activity":null,"churnRisk":"low"}"#,
        #"{"customerId":null,"version":1,"asOf":"2026-11-25T08:00:00Z","tier":"high","activity":"active","churnRisk":"low"}"#,
        #"{"customerId":"C","version":1,"asOf":"2026-11-25T08:00:00Z","tier":"high","activity":"active","churnRisk":"low"} x"#,
        #"{"customerId":"C","version":"1","asOf":"2026-11-25T08:00:00Z","tier":"high","activity":"active","churnRisk":"low"}"#,
    ])
    func segmentReaderNeverDisagrees(payload: String) {
        let agreed = Self.agrees(Array(payload.utf8), FastSegmentEssentialsReader().read)
        #expect(agreed)
    }

    @Test func segmentMutations() {
        Self.mutations(of: Self.segment, seed: 0x5E6_2026, FastSegmentEssentialsReader().read)
    }

    // MARK: Suppressions

    static let suppression =
        #"{"suppressionId":"s-9f2c","customerId":"C-0042","occurredAt":"2026-11-25T08:00:00.250Z","type":"plan_fit","reason":"frequency_cap","tier":"mid","triggerEventId":"ev-17"}"#

    @Test func readsASuppression() {
        let reader = FastLeadSuppressionReader()
        let expected = LeadSuppression(
            suppressionId: "s-9f2c",
            customerId: "C-0042",
            occurredAt: utc(2026, 11, 25, 8).addingTimeInterval(0.25),
            type: .planFit,
            reason: .frequencyCap,
            tier: "mid",
            triggerEventId: "ev-17"
        )
        #expect(Array(Self.suppression.utf8).withUnsafeBytes { reader.read($0) } == expected)
        let agreed = Self.agrees(Array(Self.suppression.utf8), reader.read)
        #expect(agreed)
    }

    @Test(arguments: [
        "", "null", "[]", "{}",
        #"{"suppressionId":"s","customerId":"C","occurredAt":"2026-11-25T08:00:00Z","type":"plan_fit","reason":"no_consent","triggerEventId":"e"}"#,
        #"{"suppressionId":"s","customerId":"C","occurredAt":"2026-11-25T08:00:00Z","type":"plan_fit","reason":"no_consent","tier":null,"triggerEventId":"e"}"#,
        #"{"suppressionId":"s","customerId":"C","occurredAt":"2026-11-25T08:00:00Z","type":"upsell","reason":"no_consent","triggerEventId":"e"}"#,
        #"{"suppressionId":"s","customerId":"C","occurredAt":"2026-11-25T08:00:00Z","type":"plan_fit","reason":"because","triggerEventId":"e"}"#,
        #"{"suppressionId":"s","customerId":"C","occurredAt":"now","type":"plan_fit","reason":"no_consent","triggerEventId":"e"}"#,
        #"{"suppressionId":"s","customerId":"C","occurredAt":"2026-11-25T08:00:00Z","type":"plan_fit","reason":"no_consent","tier":3,"triggerEventId":"e"}"#,
        #"{"suppressionId":"s","occurredAt":"2026-11-25T08:00:00Z","type":"plan_fit","reason":"no_consent","triggerEventId":"e"}"#,
    ])
    func suppressionReaderNeverDisagrees(payload: String) {
        let agreed = Self.agrees(Array(payload.utf8), FastLeadSuppressionReader().read)
        #expect(agreed)
    }

    @Test func suppressionMutations() {
        Self.mutations(of: Self.suppression, seed: 0x5_0FF_2026, FastLeadSuppressionReader().read)
    }
}

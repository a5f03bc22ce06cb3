import Foundation
import Models
import Testing

/// The segment essentials reader answers exactly as Foundation's decoder does, or not at all.
@Suite("fast segment essentials reader")
struct FastSegmentEssentialsReaderTests {
    static let segment = CustomerSegment.Essentials(
        customerId: "C-0042",
        version: 7,
        asOf: utc(2026, 11, 25, 8),
        tier: .high,
        activity: .cooling,
        churnRisk: .medium
    )

    /// A whole segment as segmentation writes it.
    static let payload = #"""
        {"customerId":"C-0042","version":7,"asOf":"2026-11-25T08:00:00Z","tier":"high","score":81.5,"arpu":182.4,
        "region":"310000","regionClass":"tier1","regionCoefficient":1.3,"rfm":{"recency":5,"frequency":4,"monetary":5,
        "segment":"champions","segmentName":"Champions"},"servicePolicy":{"queuePriority":1,"dedicatedManager":true},
        "activity":"cooling","churnRisk":"medium","tags":{"tenure":"veteran","spend":"high","products":["5G","宽带"]},
        "changed":["tier"],"reasons":["score 81.5 ≥ 70 → high"]}
        """#

    /// The reader's answer against the reference decoder's for the same bytes.
    func check(_ payload: [UInt8], _ reader: FastSegmentEssentialsReader) -> Bool {
        guard let fast = payload.withUnsafeBytes({ reader.read($0) }) else { return true }  // the reference decides
        return (try? TandemJSON.decoder().decode(CustomerSegment.Essentials.self, from: Data(payload))) == fast
    }

    @Test func readsTheEssentialsOfAWholeSegment() {
        let reader = FastSegmentEssentialsReader()
        #expect(Array(Self.payload.utf8).withUnsafeBytes { reader.read($0) } == Self.segment)
        #expect(check(Array(Self.payload.utf8), reader))
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
    func refusesWhatItCannotProveAndNeverDisagrees(payload: String) {
        #expect(check(Array(payload.utf8), FastSegmentEssentialsReader()))
    }

    @Test func tenThousandMutationsNeverDisagreeWithTheReference() {
        let reader = FastSegmentEssentialsReader()
        var generator = RecordGenerator(seed: 0x5E6_2026)
        var answered = 0
        for _ in 0..<10_000 {
            var payload = Array(Self.payload.utf8)
            generator.mutate(&payload)
            #expect(check(payload, reader), "\(String(decoding: payload, as: UTF8.self))")
            if payload.withUnsafeBytes({ reader.read($0) }) != nil { answered += 1 }
        }
        #expect(answered > 1000, "the fast walk answers for the mutations that stay valid")
    }
}

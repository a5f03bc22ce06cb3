internal import CSimdjson
import Foundation

/// Reads the six fields of a `cs.segments` record that ``CustomerSegment/Essentials`` holds, with
/// simdjson, for the lead service: Foundation's `JSONDecoder` builds a map of all twenty-odd
/// fields (tags, RFM, reasons) before it picks six, which was most of the cost of a segment.
///
/// The walk answers only for a well-formed object whose six fields are present with their types
/// (and whose timestamp and enum values are ones Foundation accepts), and returns nil for anything
/// else; the caller then asks the reference decoder, which gives the verdict and the error. So the
/// answer equals Foundation's for every payload, only faster for the common one.
///
/// - Important: not thread-safe: it owns a parser and reuses its buffers.
public final class FastSegmentEssentialsReader {
    private enum Field: Int, CaseIterable {
        case customerId, version, asOf, tier, activity, churnRisk
    }

    private let schema = SimdjsonSchemaParser(
        keys: Field.allCases.map { String(describing: $0) },
        kinds: Field.allCases.map {
            UInt8($0 == .version ? TANDEM_JSON_KIND_INT.rawValue : TANDEM_JSON_KIND_STRING.rawValue)
        },
        schema: "CustomerSegment.Essentials"
    )

    /// Makes a reader with its own parser.
    public init() {}

    /// The essentials when the fast walk answers for these bytes, else nil. Never traps.
    public func read(_ bytes: UnsafeRawBufferPointer) -> CustomerSegment.Essentials? {
        guard schema.parse(bytes).status == SimdjsonSchemaParser.ok else { return nil }
        let slots = schema.slots
        // Every field is required: absent or null is the reference's error to report.
        for field in Field.allCases where slots[field.rawValue].state != SimdjsonSchemaParser.present {
            return nil
        }
        func string(_ field: Field) -> String { SimdjsonSchemaParser.string(slots[field.rawValue].string) }
        guard let millis = schema.milliseconds(at: Field.asOf.rawValue),
            let tier = Rules.Tier(rawValue: string(.tier)),
            let activity = ActivityState(rawValue: string(.activity)),
            let churnRisk = Rules.Level(rawValue: string(.churnRisk))
        else { return nil }
        return CustomerSegment.Essentials(
            customerId: string(.customerId),
            version: Int(slots[Field.version.rawValue].integer),
            asOf: Timestamp.date(millisecondsSince1970: millis),
            tier: tier,
            activity: activity,
            churnRisk: churnRisk
        )
    }
}

@available(*, unavailable, message: "a FastSegmentEssentialsReader is used from one thread at a time")
extension FastSegmentEssentialsReader: Sendable {}

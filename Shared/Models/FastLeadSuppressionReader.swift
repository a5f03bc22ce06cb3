internal import CSimdjson
import Foundation

/// Reads a `cs.lead-suppressions` record with simdjson, for the KPI service, which counts one per
/// suppressed trigger (about one record in three of the whole stream under load): Foundation's
/// `JSONDecoder` cost it as much as the counting.
///
/// The walk answers only for a well-formed object whose fields have their types (a timestamp and
/// enum values Foundation accepts, the optional `tier` a string, null or absent), and returns nil
/// for anything else; the caller then asks the reference decoder, which gives the verdict and the
/// error. So the answer equals Foundation's for every payload, only faster for the common one.
///
/// - Important: not thread-safe: it owns a parser and reuses its buffers.
public final class FastLeadSuppressionReader {
    private enum Field: Int, CaseIterable {
        case suppressionId, customerId, occurredAt, type, reason, tier, triggerEventId
    }

    private let schema = SimdjsonSchemaParser(
        keys: Field.allCases.map { String(describing: $0) },
        kinds: Field.allCases.map { _ in UInt8(TANDEM_JSON_KIND_STRING.rawValue) },
        schema: "LeadSuppression"
    )

    /// Makes a reader with its own parser.
    public init() {}

    /// The suppression when the fast walk answers for these bytes, else nil. Never traps.
    public func read(_ bytes: UnsafeRawBufferPointer) -> LeadSuppression? {
        guard schema.parse(bytes).status == SimdjsonSchemaParser.ok else { return nil }
        func string(_ field: Field) -> String? { schema.string(at: field.rawValue) }
        // Every field but the tier is required: absent or null is the reference's error to report.
        guard let suppressionId = string(.suppressionId), let customerId = string(.customerId),
            let triggerEventId = string(.triggerEventId),
            let millis = schema.milliseconds(at: Field.occurredAt.rawValue),
            let type = string(.type).flatMap(LeadType.init(rawValue:)),
            let reason = string(.reason).flatMap(SuppressionReason.init(rawValue:))
        else { return nil }
        return LeadSuppression(
            suppressionId: suppressionId,
            customerId: customerId,
            occurredAt: Timestamp.date(millisecondsSince1970: millis),
            type: type,
            reason: reason,
            tier: string(.tier),
            triggerEventId: triggerEventId
        )
    }
}

@available(*, unavailable, message: "a FastLeadSuppressionReader is used from one thread at a time")
extension FastLeadSuppressionReader: Sendable {}

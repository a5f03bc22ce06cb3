internal import CSimdjson
import Foundation

/// The hot-path reader of `cs.accounts` for segmentation and leads: simdjson's On-Demand parser (the shim
/// ``FastJSONDecoder`` uses) over the fields segmentation reads, with Foundation as the reference
/// for everything else.
///
/// The fast walk takes a well-formed object whose `type` is known and whose fields have the
/// declared types, and builds the same ``AccountEvent`` Foundation would, a bill's `usage`
/// included. Anything else (invalid JSON, an unknown type, a missing or mistyped field, a timestamp the
/// fast parser refuses) goes to `TandemJSON.decode`, which gives the verdict and the error.
///
/// - Important: not thread-safe; one decoder per thread, from one thread at a time.
public final class FastAccountEventDecoder {
    private let schema = SimdjsonSchemaParser(
        keys: AccountField.allCases.map { String(describing: $0) },
        kinds: AccountField.allCases.map(\.kind),
        schema: "AccountEvent"
    )
    private var slots: UnsafeMutablePointer<tandem_json_slot> { schema.slots }

    /// Payloads handed to the reference decoder.
    public private(set) var fallbackCount = 0

    /// Makes a decoder with its own parser.
    public init() {}

    /// Decodes an ``AccountEvent`` from UTF-8 JSON bytes. Never traps, whatever the bytes.
    ///
    /// - Throws: the ``ModelError/decoding(field:message:)`` the reference decoder throws.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(ModelError) -> AccountEvent {
        if let event = read(bytes) { return event }
        return try TandemJSON.decode(AccountEvent.self, from: bytes)
    }

    /// The event when the fast walk answers for these bytes — then it is what Foundation's
    /// `JSONDecoder` (with ``TandemJSON/decoder()``) would decode — else nil (and
    /// ``fallbackCount`` counts it): the caller's reference decoder gives the verdict.
    public func read(_ bytes: UnsafeRawBufferPointer) -> AccountEvent? {
        if let event = fast(bytes) { return event }
        fallbackCount += 1
        return nil
    }

    private func fast(_ bytes: UnsafeRawBufferPointer) -> AccountEvent? {
        let result = schema.parse(bytes)
        guard result.status == SimdjsonSchemaParser.ok else { return nil }
        let present = SimdjsonSchemaParser.present
        func string(_ field: AccountField) -> String? { schema.string(at: field.rawValue) }
        func date(_ field: AccountField) -> Date?? {
            let slot = slots[field.rawValue]
            guard slot.state == present else { return .some(nil) }
            guard let millis = FastTimestamp.parseMilliseconds(slot.string) else { return nil }
            return .some(Timestamp.date(millisecondsSince1970: millis))
        }
        func double(_ field: AccountField) -> Double? {
            slots[field.rawValue].state == present ? slots[field.rawValue].number : nil
        }
        guard let type = string(.type), let customerId = string(.customerId), let atOrNil = date(.at),
            let at = atOrNil
        else { return nil }
        switch type {
        case "profile":
            // The shim has checked every field's kind; absent and null are both nil.
            guard let joinedAt = date(.joinedAt) else { return nil }
            let points = slots[AccountField.points.rawValue]
            let consent = slots[AccountField.marketingConsent.rawValue]
            return .profile(
                .init(
                    customerId: customerId,
                    at: at,
                    region: string(.region),
                    joinedAt: joinedAt,
                    creditScore: double(.creditScore),
                    influence: double(.influence),
                    points: points.state == present ? Int(points.integer) : nil,
                    marketingConsent: consent.state == present ? consent.boolean != 0 : nil,
                    planId: string(.planId)
                )
            )
        case "bill":
            guard let period = string(.period), let amount = double(.amount) else { return nil }
            var usage: [String: Double] = [:]
            let slot = slots[AccountField.usage.rawValue]
            if slot.state == present, slot.count > 0 {
                guard let strings = result.strings, let numbers = result.numbers else { return nil }
                usage.reserveCapacity(Int(slot.count))
                for index in 0..<Int(slot.count) {
                    let key = SimdjsonSchemaParser.string(strings[Int(slot.first) + index])
                    // Foundation keeps the first of keys that compare equal as Swift strings.
                    if usage.index(forKey: key) == nil { usage[key] = numbers[Int(slot.first_number) + index] }
                }
            }
            return .bill(.init(customerId: customerId, at: at, period: period, amount: amount, usage: usage))
        case "purchase":
            guard let amount = double(.amount), let productId = string(.productId) else { return nil }
            return .purchase(.init(customerId: customerId, at: at, amount: amount, productId: productId))
        default:
            return nil
        }
    }
}

@available(*, unavailable, message: "a FastAccountEventDecoder is used from one thread at a time")
extension FastAccountEventDecoder: Sendable {}

/// The AccountEvent fields the fast walk reads, with the kind the shim checks.
enum AccountField: Int, CaseIterable {
    case type, customerId, at, region, joinedAt, creditScore, influence, points, marketingConsent, planId
    case period, amount, productId, usage

    var kind: UInt8 {
        let kind: tandem_json_kind
        switch self {
        case .usage: kind = TANDEM_JSON_KIND_NUMBER_MAP
        case .creditScore, .influence, .amount: kind = TANDEM_JSON_KIND_DOUBLE
        case .points: kind = TANDEM_JSON_KIND_INT
        case .marketingConsent: kind = TANDEM_JSON_KIND_BOOL
        default: kind = TANDEM_JSON_KIND_STRING
        }
        return UInt8(kind.rawValue)
    }
}

internal import CSimdjson
import Foundation

/// The hot-path reader of `cs.accounts` for segmentation: simdjson's On-Demand parser (the shim
/// ``FastJSONDecoder`` uses) over the fields segmentation reads, with Foundation as the reference
/// for everything else.
///
/// The fast walk takes a well-formed object whose `type` is known and whose fields have the
/// declared types, and builds the same ``AccountEvent`` Foundation would — except for a bill's
/// `usage`, which it does not read (segmentation does not use it; a bill's usage stays `[:]`).
/// Anything else (invalid JSON, an unknown type, a missing or mistyped field, a timestamp the
/// fast parser refuses) goes to `TandemJSON.decode`, which gives the verdict and the error.
///
/// - Important: not thread-safe; one decoder per thread, from one thread at a time.
public final class FastAccountEventDecoder {
    private let parser: OpaquePointer
    private let slots: UnsafeMutablePointer<tandem_json_slot>

    /// Payloads handed to the reference decoder.
    public private(set) var fallbackCount = 0

    /// Makes a decoder with its own parser.
    public init() {
        let fields = AccountField.allCases
        var names = fields.map { strdup(String(describing: $0)) }
        defer { names.forEach { free($0) } }
        let kinds = fields.map(\.kind)
        let parser = names.withUnsafeMutableBufferPointer { names in
            names.withMemoryRebound(to: UnsafePointer<CChar>?.self) { names in
                tandem_json_parser_new(names.baseAddress, kinds, fields.count)
            }
        }
        guard let parser else { fatalError("tandem_json_parser_new failed for the AccountEvent schema") }
        self.parser = parser
        slots = .allocate(capacity: fields.count)
        slots.initialize(repeating: tandem_json_slot(), count: fields.count)
    }

    deinit {
        tandem_json_parser_free(parser)
        slots.deallocate()
    }

    /// Decodes an ``AccountEvent`` from UTF-8 JSON bytes. Never traps, whatever the bytes.
    ///
    /// - Throws: the ``ModelError/decoding(field:message:)`` the reference decoder throws.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(ModelError) -> AccountEvent {
        if let event = fast(bytes) { return event }
        fallbackCount += 1
        return try TandemJSON.decode(AccountEvent.self, from: bytes)
    }

    private func fast(_ bytes: UnsafeRawBufferPointer) -> AccountEvent? {
        let result = tandem_json_parse(parser, bytes.baseAddress, bytes.count, slots)
        guard result.status == Int32(TANDEM_JSON_OK.rawValue) else { return nil }
        let present = UInt8(TANDEM_JSON_PRESENT.rawValue)
        func string(_ field: AccountField) -> String? {
            let slot = slots[field.rawValue]
            guard slot.state == present else { return nil }
            guard let start = slot.string.bytes, slot.string.length > 0 else { return "" }
            return String(
                decoding: UnsafeBufferPointer(
                    start: UnsafeRawPointer(start).assumingMemoryBound(to: UInt8.self),
                    count: slot.string.length
                ),
                as: UTF8.self
            )
        }
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
            return .bill(.init(customerId: customerId, at: at, period: period, amount: amount))
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
    case period, amount, productId

    var kind: UInt8 {
        let kind: tandem_json_kind
        switch self {
        case .creditScore, .influence, .amount: kind = TANDEM_JSON_KIND_DOUBLE
        case .points: kind = TANDEM_JSON_KIND_INT
        case .marketingConsent: kind = TANDEM_JSON_KIND_BOOL
        default: kind = TANDEM_JSON_KIND_STRING
        }
        return UInt8(kind.rawValue)
    }
}

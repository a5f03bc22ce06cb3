internal import CSimdjson
import Foundation

/// The hot-path reader of `cs.interactions.raw`: simdjson's On-Demand parser behind a C shim,
/// decoding exactly what ``TandemJSON/decode(_:from:)-(_,some Collection<UInt8>)`` decodes.
///
/// The contract is equivalence with the reference (Foundation's `JSONDecoder` as configured by
/// ``TandemJSON``): the same record for every payload the reference accepts, and the same
/// ``ModelError`` for every payload it rejects. The fast walk handles the common case — a
/// well-formed object whose known fields have the declared types — and refuses anything it
/// cannot prove the reference reads the same way (wrong types, numbers that do not fit, bad
/// timestamps, invalid JSON, and Foundation's leniencies such as a trailing comma or a byte order
/// mark). A refused payload is handed to the reference, which gives the verdict and the error
/// message. So errors and oddities cost Foundation speed; well-formed records do not.
///
/// A decoder owns a parser and its buffers and reuses them: it is **not thread-safe** — use one
/// decoder per thread (or per task that does not share it), from one thread at a time.
public final class FastJSONDecoder {
    private let schema = RawField.parser()
    private var slots: UnsafeMutablePointer<tandem_json_slot> { schema.slots }

    /// How many payloads this decoder handed to the reference decoder (invalid records, or valid
    /// ones in a shape the fast walk does not take). A metric: a high share means lost speed.
    public private(set) var fallbackCount = 0

    /// The simdjson implementation simdjson picked for this CPU and the one the On-Demand walk
    /// was compiled for, e.g. `"haswell/fallback"`; for benchmark reports.
    public static var implementation: String {
        String(cString: tandem_json_implementation()) + "/" + String(cString: tandem_json_ondemand_implementation())
    }

    /// Makes a decoder with its own parser.
    public init() {}

    /// Decodes a ``RawInteraction`` from UTF-8 JSON bytes. Never traps, whatever the bytes.
    ///
    /// - Throws: the ``ModelError/decoding(field:message:)`` the reference decoder throws.
    public func decodeRawInteraction(_ bytes: UnsafeRawBufferPointer) throws(ModelError) -> RawInteraction {
        if let raw = fastRawInteraction(bytes) { return raw }
        fallbackCount += 1
        return try TandemJSON.decode(RawInteraction.self, from: bytes)
    }

    /// Decodes a ``RawInteraction`` from UTF-8 JSON bytes (see ``decodeRawInteraction(_:)-(UnsafeRawBufferPointer)``).
    public func decodeRawInteraction(_ bytes: [UInt8]) throws(ModelError) -> RawInteraction {
        let result: Result<RawInteraction, ModelError> = bytes.withUnsafeBytes { buffer in
            do throws(ModelError) { return .success(try decodeRawInteraction(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The fast walk: the record, or `nil` when the reference must decide.
    func fastRawInteraction(_ bytes: UnsafeRawBufferPointer) -> RawInteraction? {
        let result = schema.parse(bytes)
        guard result.status == SimdjsonSchemaParser.ok else { return nil }
        let strings = result.strings

        func slot(_ field: RawField) -> tandem_json_slot { slots[field.rawValue] }
        func present(_ field: RawField) -> Bool { slots[field.rawValue].state == Self.present }
        func string(_ field: RawField) -> String? {
            let slot = slots[field.rawValue]
            return slot.state == Self.present ? Self.string(slot.string) : nil
        }
        func int(_ field: RawField) -> Int? {
            let slot = slots[field.rawValue]
            return slot.state == Self.present ? Int(slot.integer) : nil
        }
        func double(_ field: RawField) -> Double? {
            let slot = slots[field.rawValue]
            return slot.state == Self.present ? slot.number : nil
        }
        func bool(_ field: RawField) -> Bool? {
            let slot = slots[field.rawValue]
            return slot.state == Self.present ? slot.boolean != 0 : nil
        }

        var occurredAt: Date?
        if present(.occurredAt) {
            // A timestamp the fast parser refuses is the reference's to report.
            guard let millis = FastTimestamp.parseMilliseconds(slot(.occurredAt).string) else { return nil }
            occurredAt = Timestamp.date(millisecondsSince1970: millis)
        }
        var signals: [String]?
        if present(.signals), let strings {
            let slot = slot(.signals)
            var list: [String] = []
            list.reserveCapacity(Int(slot.count))
            for index in Int(slot.first)..<Int(slot.first + slot.count) { list.append(Self.string(strings[index])) }
            signals = list
        } else if present(.signals) {
            signals = []
        }
        let attributes = present(.attributes) ? Self.stringMap(slot(.attributes), strings) : nil

        return RawInteraction(
            eventId: string(.eventId),
            occurredAt: occurredAt,
            channel: string(.channel),
            kind: string(.kind),
            customerId: string(.customerId),
            department: string(.department),
            topic: string(.topic),
            queue: string(.queue),
            teamId: string(.teamId),
            agentId: string(.agentId),
            waitSeconds: double(.waitSeconds),
            answered: bool(.answered),
            handleSeconds: double(.handleSeconds),
            resolved: bool(.resolved),
            transfers: int(.transfers),
            refersTo: string(.refersTo),
            csat: int(.csat),
            effort: int(.effort),
            nps: int(.nps),
            sentiment: double(.sentiment),
            signals: signals,
            brand: string(.brand),
            campaignId: string(.campaignId),
            reach: int(.reach),
            text: string(.text),
            attributes: attributes
        )
    }

    /// A STRING_MAP slot's object as Foundation decodes `[String: String]`.
    static func stringMap(_ slot: tandem_json_slot, _ strings: UnsafePointer<tandem_json_string>?) -> [String: String] {
        guard let strings else { return [:] }
        var map: [String: String] = [:]
        map.reserveCapacity(Int(slot.count))
        var index = Int(slot.first)
        for _ in 0..<Int(slot.count) {
            let key = string(strings[index])
            // Foundation keeps the first of keys that compare equal as Swift strings (which
            // includes canonically equivalent spellings the shim sees as different bytes).
            if map.index(forKey: key) == nil { map[key] = string(strings[index + 1]) }
            index += 2
        }
        return map
    }

    private static let present = SimdjsonSchemaParser.present

    @inline(__always)
    private static func string(_ text: tandem_json_string) -> String { SimdjsonSchemaParser.string(text) }
}

@available(*, unavailable, message: "a FastJSONDecoder is used from one thread at a time")
extension FastJSONDecoder: Sendable {}

/// The RawInteraction fields in declaration order (the order Foundation decodes them in), with
/// the kind the shim checks.
enum RawField: Int, CaseIterable {
    case eventId, occurredAt, channel, kind, customerId, department, topic, queue, teamId, agentId
    case waitSeconds, answered, handleSeconds, resolved, transfers, refersTo, csat, effort, nps, sentiment
    case signals, brand, campaignId, reach, text, attributes

    /// A parser for the RawInteraction schema.
    static func parser() -> SimdjsonSchemaParser {
        SimdjsonSchemaParser(
            keys: allCases.map { String(describing: $0) },
            kinds: allCases.map(\.kind),
            schema: "RawInteraction"
        )
    }

    var kind: UInt8 {
        let kind: tandem_json_kind
        switch self {
        case .waitSeconds, .handleSeconds, .sentiment: kind = TANDEM_JSON_KIND_DOUBLE
        case .answered, .resolved: kind = TANDEM_JSON_KIND_BOOL
        case .transfers, .csat, .effort, .nps, .reach: kind = TANDEM_JSON_KIND_INT
        case .signals: kind = TANDEM_JSON_KIND_STRING_ARRAY
        case .attributes: kind = TANDEM_JSON_KIND_STRING_MAP
        default: kind = TANDEM_JSON_KIND_STRING
        }
        return UInt8(kind.rawValue)
    }
}

/// ``Timestamp``'s own parser over the parser's borrowed bytes, so that decoding `occurredAt`
/// allocates nothing and accepts exactly what `Timestamp.parse` accepts.
enum FastTimestamp {
    static func parseMilliseconds(_ text: tandem_json_string) -> Int64? {
        Timestamp.parseMilliseconds(SimdjsonSchemaParser.utf8(text))
    }
}

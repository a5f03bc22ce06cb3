internal import CSimdjson
import Foundation

/// Reads a few top-level string fields of a larger JSON object with simdjson, for a consumer
/// that needs two fields of a record of twenty (e.g. the KPI service's customer → tier from a
/// `cs.segments` record). Foundation's `JSONDecoder` builds a map of the whole document first,
/// which costs as much per large record as the rest of a hot path.
///
/// The walk is as strict as ``FastJSONDecoder``'s: it answers only for well-formed objects whose
/// named fields are strings, null or absent, and returns nil for anything else (invalid JSON, not
/// an object, a named field of another type, trailing data). The caller then asks its reference
/// decoder, which gives the verdict and the error: the result equals the reference's for every
/// payload, only faster for the common one.
///
/// - Important: not thread-safe: it owns a parser and reuses its buffers.
public final class FastStringFieldsReader {
    private let parser: OpaquePointer
    private let slots: UnsafeMutablePointer<tandem_json_slot>
    /// The fields read, in the order ``read(_:)`` answers them.
    public let fields: [String]

    /// Makes a reader of these top-level fields.
    public init(fields: [String]) {
        var names = fields.map { strdup($0) }
        defer { names.forEach { free($0) } }
        let kinds = [UInt8](repeating: UInt8(TANDEM_JSON_KIND_STRING.rawValue), count: fields.count)
        let parser = names.withUnsafeMutableBufferPointer { names in
            names.withMemoryRebound(to: UnsafePointer<CChar>?.self) { names in
                tandem_json_parser_new(names.baseAddress, kinds, fields.count)
            }
        }
        // Only out of memory or a key longer than 64 bytes can fail here.
        guard let parser else { fatalError("tandem_json_parser_new failed for the fields \(fields)") }
        self.parser = parser
        self.fields = fields
        slots = .allocate(capacity: max(1, fields.count))
        slots.initialize(repeating: tandem_json_slot(), count: max(1, fields.count))
    }

    deinit {
        tandem_json_parser_free(parser)
        slots.deallocate()
    }

    /// The fields' values in ``fields`` order (nil for one that is absent or null), or nil when
    /// the fast walk does not answer for this payload. Never traps, whatever the bytes.
    public func read(_ bytes: UnsafeRawBufferPointer) -> [String?]? {
        let result = tandem_json_parse(parser, bytes.baseAddress, bytes.count, slots)
        guard result.status == Int32(TANDEM_JSON_OK.rawValue) else { return nil }
        let present = UInt8(TANDEM_JSON_PRESENT.rawValue)
        return (0..<fields.count).map { index -> String? in
            let slot = slots[index]
            guard slot.state == present else { return nil }
            guard let start = slot.string.bytes, slot.string.length > 0 else { return "" }
            return String(
                decoding: UnsafeRawBufferPointer(start: UnsafeRawPointer(start), count: slot.string.length),
                as: UTF8.self
            )
        }
    }
}

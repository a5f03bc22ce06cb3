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
    private let schema: SimdjsonSchemaParser
    /// The fields read, in the order ``read(_:)`` answers them.
    public let fields: [String]

    /// Makes a reader of these top-level fields.
    public init(fields: [String]) {
        schema = SimdjsonSchemaParser(
            keys: fields,
            kinds: [UInt8](repeating: UInt8(TANDEM_JSON_KIND_STRING.rawValue), count: fields.count),
            schema: "string fields \(fields)"
        )
        self.fields = fields
    }

    /// The fields' values in ``fields`` order (nil for one that is absent or null), or nil when
    /// the fast walk does not answer for this payload. Never traps, whatever the bytes.
    public func read(_ bytes: UnsafeRawBufferPointer) -> [String?]? {
        guard schema.parse(bytes).status == SimdjsonSchemaParser.ok else { return nil }
        return (0..<fields.count).map { schema.string(at: $0) }
    }
}

internal import CSimdjson
import Foundation

/// One simdjson parser of the C shim for one fixed schema (field names and kinds), with the slots
/// a parse fills: what ``FastJSONDecoder``, ``FastAccountEventDecoder`` and
/// ``FastStringFieldsReader`` each read their fields from.
///
/// - Important: not thread-safe: a parse reuses the parser's buffers and the slots.
final class SimdjsonSchemaParser {
    private let parser: OpaquePointer
    /// One slot per schema field, in schema order, filled by ``parse(_:)``.
    let slots: UnsafeMutablePointer<tandem_json_slot>

    /// - Parameters:
    ///   - keys: the field names, in the order the slots follow.
    ///   - kinds: each field's `tandem_json_kind`.
    ///   - schema: the schema's name, for the error should the shim refuse it.
    init(keys: [String], kinds: [UInt8], schema: String) {
        precondition(keys.count == kinds.count, "one kind per key")
        var names = keys.map { strdup($0) }
        defer { names.forEach { free($0) } }
        let parser = names.withUnsafeMutableBufferPointer { names in
            names.withMemoryRebound(to: UnsafePointer<CChar>?.self) { names in
                tandem_json_parser_new(names.baseAddress, kinds, keys.count)
            }
        }
        // Only out of memory or a schema bug (a key longer than 64 bytes) can fail here.
        guard let parser else { fatalError("tandem_json_parser_new failed for the \(schema) schema") }
        self.parser = parser
        slots = .allocate(capacity: max(1, keys.count))
        slots.initialize(repeating: tandem_json_slot(), count: max(1, keys.count))
    }

    deinit {
        tandem_json_parser_free(parser)
        slots.deallocate()
    }

    /// Parses one document into ``slots``; strings stay valid until the next parse.
    @inline(__always)
    func parse(_ bytes: UnsafeRawBufferPointer) -> tandem_json_result {
        tandem_json_parse(parser, bytes.baseAddress, bytes.count, slots)
    }

    /// The string in slot `index` after a parse, nil when the field was absent or null.
    @inline(__always)
    func string(at index: Int) -> String? {
        slots[index].state == Self.present ? Self.string(slots[index].string) : nil
    }

    /// The timestamp in slot `index` as milliseconds since the epoch, nil when the field was
    /// absent or null or is not a timestamp ``Timestamp`` accepts.
    @inline(__always)
    func milliseconds(at index: Int) -> Int64? {
        slots[index].state == Self.present ? FastTimestamp.parseMilliseconds(slots[index].string) : nil
    }

    static let present = UInt8(TANDEM_JSON_PRESENT.rawValue)
    static let ok = Int32(TANDEM_JSON_OK.rawValue)

    /// A slot's string. simdjson has validated the UTF-8 and unescaped it, so decoding cannot
    /// repair anything.
    @inline(__always)
    static func string(_ text: tandem_json_string) -> String {
        String(decoding: utf8(text), as: UTF8.self)
    }

    /// A slot's string as bytes, borrowed from the parser (valid until its next parse).
    @inline(__always)
    static func utf8(_ text: tandem_json_string) -> UnsafeBufferPointer<UInt8> {
        guard let bytes = text.bytes, text.length > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(
            start: UnsafeRawPointer(bytes).assumingMemoryBound(to: UInt8.self),
            count: text.length
        )
    }
}

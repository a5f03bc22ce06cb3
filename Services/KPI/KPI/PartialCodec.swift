import Models
public import ServiceKit

/// Why bytes of `cs.kpi.partials` or `cs.kpi.merge` cannot be read.
public struct PartialCodecError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// The compact binary form of the KPI service's internal records: the partials and watermarks on
/// `cs.kpi.partials` and the merger's ``MergePart``s on the `cs.kpi.merge` changelog.
///
/// Foundation's JSON coding of these (a day window's partial holds thousands of cells of ~40
/// counters) was most of the service's CPU. Layout (integers are LEB128 varints, signed ones
/// zigzag-encoded first; a string is its UTF-8 byte count then its bytes):
///
/// - partial message: `0xB1`, the type as a string (`partial`/`watermark`), source, partitions,
///   a presence byte (bit 0 size, 1 start, 2 end, 3 final, 4 final's value, 5 cells, 6 closed),
///   then those present in that order: size code (0 minute, 1 hour, 2 day), start, end, cells,
///   closed (count, then size name and event time pairs, sorted by name);
/// - merge part: `0xB2`, final (0/1), end, cells;
/// - cells: count, then per cell the dimension code (``KPIDimension`` case order), the value,
///   the counters (count, then each), the tallies (count, then key and count pairs, sorted by key).
///
/// A reader checks every length against the bytes left: garbage is an error, never a trap or a
/// huge allocation. JSON (the format before this one, first byte `{`) is still read.
public enum PartialCodec {
    static let messageTag: UInt8 = 0xB1
    static let mergeTag: UInt8 = 0xB2
    private static let sizes: [KPIWindowSize] = [.minute, .hour, .day]
    private static let dimensions = KPIDimension.allCases

    // MARK: Writing

    /// The message's bytes.
    public static func encode(_ message: PartialMessage) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32 + (message.cells?.count ?? 0) * 64)
        out.append(messageTag)
        appendString(message.type, to: &out)
        appendSigned(Int64(message.source), to: &out)
        appendSigned(Int64(message.partitions), to: &out)
        var presence: UInt8 = 0
        if message.size != nil { presence |= 1 }
        if message.start != nil { presence |= 2 }
        if message.end != nil { presence |= 4 }
        if let final = message.final { presence |= final ? 8 | 16 : 8 }
        if message.cells != nil { presence |= 32 }
        if message.closed != nil { presence |= 64 }
        out.append(presence)
        if let size = message.size { out.append(size.code) }
        if let start = message.start { appendSigned(start, to: &out) }
        if let end = message.end { appendSigned(end, to: &out) }
        if let cells = message.cells { appendCells(cells, to: &out) }
        if let closed = message.closed {
            appendUnsigned(UInt64(closed.count), to: &out)
            for (name, time) in closed.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                appendString(name, to: &out)
                appendSigned(time, to: &out)
            }
        }
        return out
    }

    /// The part's bytes.
    public static func encode(_ part: MergePart, into out: inout [UInt8]) {
        out.append(mergeTag)
        out.append(part.final ? 1 : 0)
        appendSigned(part.end, to: &out)
        appendCells(part.cells, to: &out)
    }

    /// The `cs.kpi.merge` changelog codec.
    public static let mergeCodec = StateCodec<MergePart>(
        encode: { part, bytes in encode(part, into: &bytes) },
        decode: { bytes in try? decodeMergePart(bytes) }
    )

    private static func appendCells(_ cells: [PartialCell], to out: inout [UInt8]) {
        appendUnsigned(UInt64(cells.count), to: &out)
        for cell in cells {
            out.append(cell.d.code)
            appendString(cell.v, to: &out)
            appendUnsigned(UInt64(cell.c.count), to: &out)
            for value in cell.c { appendSigned(value, to: &out) }
            let tallies = cell.t ?? [:]
            // 0 tallies and no tallies are told apart: the count is written plus one when present.
            appendUnsigned(cell.t == nil ? 0 : UInt64(tallies.count) + 1, to: &out)
            for (key, count) in tallies.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                appendString(key, to: &out)
                appendSigned(count, to: &out)
            }
        }
    }

    @inline(__always)
    static func appendUnsigned(_ value: UInt64, to out: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }

    @inline(__always)
    static func appendSigned(_ value: Int64, to out: inout [UInt8]) {
        appendUnsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63)), to: &out)
    }

    static func appendString(_ text: String, to out: inout [UInt8]) {
        appendUnsigned(UInt64(text.utf8.count), to: &out)
        out.append(contentsOf: text.utf8)
    }

    // MARK: Reading

    /// The message of `bytes`: the binary form, or JSON (first byte `{`).
    public static func decodeMessage(_ bytes: UnsafeRawBufferPointer) throws(PartialCodecError) -> PartialMessage {
        var reader = Reader(bytes: bytes)
        guard try reader.byte() == messageTag else { throw PartialCodecError(reason: "not a binary KPI partial") }
        let type = try reader.string()
        let source = try reader.int32()
        let partitions = try reader.int32()
        let presence = try reader.byte()
        guard presence & 0x80 == 0 else { throw PartialCodecError(reason: "unknown fields") }
        var message = PartialMessage(
            type: type,
            source: source,
            partitions: partitions,
            size: nil,
            start: nil,
            end: nil,
            final: nil,
            cells: nil,
            closed: nil
        )
        if presence & 1 != 0 { message.size = try reader.size() }
        if presence & 2 != 0 { message.start = try reader.signed() }
        if presence & 4 != 0 { message.end = try reader.signed() }
        if presence & 8 != 0 { message.final = presence & 16 != 0 }
        if presence & 32 != 0 { message.cells = try reader.cells() }
        if presence & 64 != 0 {
            let count = try reader.count()
            var closed: [String: Int64] = [:]
            for _ in 0..<count {
                let name = try reader.string()
                closed[name] = try reader.signed()
            }
            message.closed = closed
        }
        try reader.end()
        return message
    }

    /// The part of a `cs.kpi.merge` changelog value (after its 8-byte offset).
    public static func decodeMergePart(_ bytes: UnsafeRawBufferPointer) throws(PartialCodecError) -> MergePart {
        var reader = Reader(bytes: bytes)
        guard try reader.byte() == mergeTag else { throw PartialCodecError(reason: "not a binary KPI merge part") }
        let final = try reader.byte()
        guard final <= 1 else { throw PartialCodecError(reason: "final: not 0 or 1") }
        let end = try reader.signed()
        let cells = try reader.cells()
        try reader.end()
        return MergePart(final: final == 1, end: end, cells: cells)
    }

    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        var remaining: Int { bytes.count - position }

        mutating func byte() throws(PartialCodecError) -> UInt8 {
            guard position < bytes.count else { throw PartialCodecError(reason: "truncated") }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func unsigned() throws(PartialCodecError) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let next = try byte()
                guard shift < 64, shift < 63 || next <= 1 else { throw PartialCodecError(reason: "number too long") }
                value |= UInt64(next & 0x7F) << shift
                if next & 0x80 == 0 { return value }
                shift += 7
            }
        }

        mutating func signed() throws(PartialCodecError) -> Int64 {
            let raw = try unsigned()
            return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
        }

        mutating func int32() throws(PartialCodecError) -> Int32 {
            guard let value = Int32(exactly: try signed()) else {
                throw PartialCodecError(reason: "partition out of range")
            }
            return value
        }

        /// A count of items of at least one byte each: never more than the bytes left.
        mutating func count() throws(PartialCodecError) -> Int {
            let value = try unsigned()
            guard value <= UInt64(remaining) else { throw PartialCodecError(reason: "count past the end") }
            return Int(value)
        }

        mutating func string() throws(PartialCodecError) -> String {
            let length = try count()
            let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<position + length])
            position += length
            guard let text = String(validating: slice, as: UTF8.self) else {
                throw PartialCodecError(reason: "a string is not UTF-8")
            }
            return text
        }

        mutating func size() throws(PartialCodecError) -> KPIWindowSize {
            let code = Int(try byte())
            guard code < PartialCodec.sizes.count else { throw PartialCodecError(reason: "unknown window size") }
            return PartialCodec.sizes[code]
        }

        mutating func cells() throws(PartialCodecError) -> [PartialCell] {
            let count = try count()
            var cells: [PartialCell] = []
            cells.reserveCapacity(count)
            for _ in 0..<count {
                let code = Int(try byte())
                guard code < PartialCodec.dimensions.count else { throw PartialCodecError(reason: "unknown dimension") }
                let value = try string()
                let counterCount = try self.count()
                var counters: [Int64] = []
                counters.reserveCapacity(counterCount)
                for _ in 0..<counterCount { counters.append(try signed()) }
                let tallyCount = try unsigned()
                var tallies: [String: Int64]?
                if tallyCount > 0 {
                    guard tallyCount - 1 <= UInt64(remaining) else {
                        throw PartialCodecError(reason: "count past the end")
                    }
                    var found: [String: Int64] = [:]
                    for _ in 0..<Int(tallyCount - 1) {
                        let key = try string()
                        found[key] = try signed()
                    }
                    tallies = found
                }
                cells.append(PartialCell(d: PartialCodec.dimensions[code], v: value, c: counters, t: tallies))
            }
            return cells
        }

        func end() throws(PartialCodecError) {
            guard position == bytes.count else { throw PartialCodecError(reason: "bytes after the end") }
        }
    }
}

import Foundation
public import Kafka
public import Models
public import ServiceKit

/// One window × dimension value's counters from one input topic of one partition.
public struct CellKey: Hashable, Sendable {
    /// The input topic the counts come from (``KPIProcessor/Source``): offsets are per topic, so
    /// replay detection is too.
    public var source: UInt8
    public var size: KPIWindowSize
    public var start: Int64
    public var dimension: KPIDimension
    public var value: String

    public init(source: UInt8, size: KPIWindowSize, start: Int64, dimension: KPIDimension, value: String) {
        self.source = source
        self.size = size
        self.start = start
        self.dimension = dimension
        self.value = value
    }

    /// `source|size|start|dimension|value`: the changelog key.
    var text: String { "\(source)|\(size.rawValue)|\(start)|\(dimension.rawValue)|\(value)" }

    init?(text: String) {
        let parts = text.split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, let source = UInt8(parts[0]), let size = KPIWindowSize(rawValue: String(parts[1])),
            let start = Int64(parts[2]), let dimension = KPIDimension(rawValue: String(parts[3]))
        else { return nil }
        self.init(source: source, size: size, start: start, dimension: dimension, value: String(parts[4]))
    }
}

/// Counters and the offset (in their source topic's partition) of the last record added.
public struct Cell: Sendable {
    public var counters: KPICounters
    public var offset: Int64
    /// Changed since the last flush (its key is in the table's dirty list).
    var dirty = false

    public init(counters: KPICounters, offset: Int64) {
        self.counters = counters
        self.offset = offset
    }

    /// Adds the record's counters unless the cell already holds it.
    /// - Returns: 0 for a replay, 1 when added, 2 when added and newly dirty.
    mutating func add(_ other: KPICounters, indices: [Int]?, offset: Int64, tallies: [String]) -> Int {
        guard offset > self.offset else { return 0 }
        if let indices { counters.merge(other, at: indices) } else { counters.merge(other) }
        for tally in tallies { counters.tallies[tally, default: 0] += 1 }
        self.offset = offset
        if dirty { return 1 }
        dirty = true
        return 2
    }
}

/// The counters on the wire (changelog, partials): positional values and tallies.
struct CountersWire: Codable, Sendable {
    var c: [Int64]
    var t: [String: Int64]?

    init(_ counters: KPICounters) {
        c = counters.values
        t = counters.tallies.isEmpty ? nil : counters.tallies
    }

    var counters: KPICounters { KPICounters(values: c, tallies: t ?? [:]) }
}

/// A window size (code) and start.
struct WindowStart: Hashable {
    var size: UInt8
    var start: Int64
}

/// A cell key with its dimension value interned: hashing four integers instead of a string is
/// what makes twenty cell updates per event cheap.
struct PackedKey: Hashable {
    var start: Int64
    var valueID: Int32
    var source: UInt8
    var size: UInt8
    var dimension: UInt8

    /// Two words into the hasher instead of five fields.
    func hash(into hasher: inout Hasher) {
        hasher.combine(start)
        hasher.combine(
            UInt64(UInt32(bitPattern: valueID)) << 24 | UInt64(source) << 16 | UInt64(size) << 8 | UInt64(dimension)
        )
    }
}

extension KPIDimension {
    var code: UInt8 { UInt8(Self.allCases.firstIndex(of: self)!) }
}

/// The open windows' counters of each partition, backed by the changelog `cs.kpi.windows`.
///
/// Like ``KeyedStateStore`` (changes coalesced per key between commits, every cell remembers the
/// input offset that last changed it, so a record replayed after a crash is not added twice to a
/// cell whose change already reached the changelog), but with interned keys and a hand-written
/// encoding: the hot path of the service adds to some twenty cells per event.
///
/// - Important: not thread-safe; used only from its ``ProcessingLoop``'s task.
public final class CellStore: StateStore, @unchecked Sendable {
    final class Table {
        var cells: [PackedKey: Cell] = [:]
        /// Keys changed or deleted since the last flush (a changed cell also has its flag set).
        var dirty: [PackedKey] = []
    }

    public let changelogTopic: String
    private var tables: [Int32: Table] = [:]
    /// Interned dimension values (channels, departments, tiers, topics, queues: a bounded set).
    private var valueIDs: [String: Int32] = [:]
    private var values: [String] = []
    private let decoder = JSONDecoder()

    public init(changelogTopic: String) {
        self.changelogTopic = changelogTopic
    }

    private func table(_ partition: Int32) -> Table {
        if let table = tables[partition] { return table }
        let table = Table()
        tables[partition] = table
        return table
    }

    /// The id of a dimension value.
    public func intern(_ value: String) -> Int32 {
        if let id = valueIDs[value] { return id }
        let id = Int32(values.count)
        values.append(value)
        valueIDs[value] = id
        return id
    }

    private static let dimensions = KPIDimension.allCases
    private static let sizes: [KPIWindowSize] = [.minute, .hour, .day]

    func pack(_ key: CellKey) -> PackedKey {
        PackedKey(
            start: key.start,
            valueID: intern(key.value),
            source: key.source,
            size: key.size.code,
            dimension: key.dimension.code
        )
    }

    func unpack(_ key: PackedKey) -> CellKey {
        CellKey(
            source: key.source,
            size: Self.sizes[Int(key.size)],
            start: key.start,
            dimension: Self.dimensions[Int(key.dimension)],
            value: values[Int(key.valueID)]
        )
    }

    /// Adds `counters` to a cell, unless the record at `offset` already changed it (a replay).
    /// - Returns: false for a replay.
    @discardableResult
    public func add(_ counters: KPICounters, to key: CellKey, partition: Int32, offset: Int64) -> Bool {
        add(counters, to: pack(key), table: table(partition), offset: offset)
    }

    /// The hot path: the value interned by the caller (see ``intern(_:)``); one hash lookup.
    @discardableResult
    public func add(
        _ counters: KPICounters,
        source: UInt8,
        size: KPIWindowSize,
        start: Int64,
        dimension: KPIDimension,
        valueID: Int32,
        partition: Int32,
        offset: Int64,
        tallies: [String] = [],
        indices: [Int]? = nil
    ) -> Bool {
        let key = PackedKey(start: start, valueID: valueID, source: source, size: size.code, dimension: dimension.code)
        return add(counters, to: key, table: table(partition), offset: offset, tallies: tallies, indices: indices)
    }

    private func add(
        _ counters: KPICounters,
        to key: PackedKey,
        table: Table,
        offset: Int64,
        tallies: [String] = [],
        indices: [Int]? = nil
    ) -> Bool {
        let result = table.cells[key, default: Cell(counters: KPICounters(), offset: .min)].add(
            counters,
            indices: indices,
            offset: offset,
            tallies: tallies
        )
        if result == 2 { table.dirty.append(key) }
        return result > 0
    }

    /// Adds one to tallies of a cell (same replay rule as ``add(_:to:partition:offset:)``, which
    /// must be called for the cell with the same record first).
    public func addTallies(_ keys: [String], to key: CellKey, partition: Int32) {
        let packed = pack(key)
        guard !keys.isEmpty, let table = tables[partition], table.cells[packed] != nil else { return }
        for tally in keys { table.cells[packed]!.counters.tallies[tally, default: 0] += 1 }
        if !table.cells[packed]!.dirty {
            table.cells[packed]!.dirty = true
            table.dirty.append(packed)
        }
    }

    /// The cell of `key`.
    public func get(_ key: CellKey, partition: Int32) -> Cell? { tables[partition]?.cells[pack(key)] }

    /// Every cell of a partition.
    public func cells(partition: Int32) -> [CellKey: Cell] {
        var cells: [CellKey: Cell] = [:]
        for (key, cell) in tables[partition]?.cells ?? [:] { cells[unpack(key)] = cell }
        return cells
    }

    /// Removes cells (their window is closed).
    public func delete(_ keys: [CellKey], partition: Int32) {
        guard let table = tables[partition] else { return }
        for key in keys {
            let packed = pack(key)
            if let removed = table.cells.removeValue(forKey: packed), !removed.dirty { table.dirty.append(packed) }
        }
    }

    /// Partitions held.
    public var partitions: [Int32] { tables.keys.sorted() }

    // MARK: StateStore

    public var hasChanges: Bool { tables.values.contains { !$0.dirty.isEmpty } }

    public func appendChanges(to batch: inout ProducerBatch) throws {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(512)
        for (partition, table) in tables where !table.dirty.isEmpty {
            for key in table.dirty {
                var value: [UInt8]?
                if let cell = table.cells[key], cell.dirty {
                    buffer.removeAll(keepingCapacity: true)
                    Self.encode(cell, into: &buffer)
                    value = buffer
                }
                batch.append(
                    topic: changelogTopic,
                    partition: partition,
                    key: keyBytes(key),
                    value: value
                )
            }
        }
    }

    /// ``CellKey/text`` as bytes, without building the string.
    func keyBytes(_ key: PackedKey) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(48)
        Self.appendInteger(Int64(key.source), to: &out)
        out.append(UInt8(ascii: "|"))
        out.append(contentsOf: Self.sizes[Int(key.size)].rawValue.utf8)
        out.append(UInt8(ascii: "|"))
        Self.appendInteger(key.start, to: &out)
        out.append(UInt8(ascii: "|"))
        out.append(contentsOf: Self.dimensions[Int(key.dimension)].rawValue.utf8)
        out.append(UInt8(ascii: "|"))
        out.append(contentsOf: values[Int(key.valueID)].utf8)
        return out
    }

    /// The changelog value: `0xB3`, the offset, the counters (count, then each) and the tallies
    /// (count, then key and count pairs sorted by key), in ``PartialCodec``'s varints and strings.
    /// This runs for every changed cell of every batch.
    static func encode(_ cell: Cell, into out: inout [UInt8]) {
        out.append(binaryTag)
        PartialCodec.appendSigned(cell.offset, to: &out)
        PartialCodec.appendUnsigned(UInt64(cell.counters.values.count), to: &out)
        for value in cell.counters.values { PartialCodec.appendSigned(value, to: &out) }
        PartialCodec.appendUnsigned(UInt64(cell.counters.tallies.count), to: &out)
        if cell.counters.tallies.isEmpty { return }
        for (key, count) in cell.counters.tallies.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            PartialCodec.appendString(key, to: &out)
            PartialCodec.appendSigned(count, to: &out)
        }
    }

    static let binaryTag: UInt8 = 0xB3

    /// The cell of a binary changelog value.
    static func decodeBinary(_ bytes: UnsafeRawBufferPointer) throws(PartialCodecError) -> Cell {
        var reader = PartialCodec.Reader(bytes: bytes)
        guard try reader.byte() == binaryTag else { throw PartialCodecError(reason: "not a binary KPI cell") }
        let offset = try reader.signed()
        let count = try reader.count()
        var values: [Int64] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try reader.signed()) }
        let tallyCount = try reader.count()
        var tallies: [String: Int64] = [:]
        for _ in 0..<tallyCount {
            let key = try reader.string()
            tallies[key] = try reader.signed()
        }
        try reader.end()
        return Cell(counters: KPICounters(values: values, tallies: tallies), offset: offset)
    }

    /// `{"o":offset,"c":[…],"t":{…}}`: the changelog value before the binary form (still read).
    static func encodeJSON(_ cell: Cell, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"o":"#.utf8)
        appendInteger(cell.offset, to: &out)
        out.append(contentsOf: #","c":["#.utf8)
        for (index, value) in cell.counters.values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendInteger(value, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        if !cell.counters.tallies.isEmpty {
            out.append(contentsOf: #","t":{"#.utf8)
            for (index, (key, count)) in cell.counters.tallies.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: jsonString(key).utf8)
                out.append(UInt8(ascii: ":"))
                appendInteger(count, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
    }

    static func encode(_ cell: Cell) -> [UInt8] {
        var out: [UInt8] = []
        encode(cell, into: &out)
        return out
    }

    /// Decimal digits of an integer.
    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            if value == .min {
                out.append(contentsOf: "9223372036854775808".utf8)
                return
            }
        }
        var magnitude = value.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8
            ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[index]) }
        }
    }

    static func jsonString(_ text: String) -> String {
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            return "\"" + text + "\""
        }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    public func changesFlushed() {
        for table in tables.values {
            for key in table.dirty where table.cells[key] != nil { table.cells[key]!.dirty = false }
            table.dirty.removeAll(keepingCapacity: true)
        }
    }

    /// Every cell of a partition, grouped by window size and start (for closing and updates).
    /// - Parameter including: only these windows (nil: every one); the others' keys are not unpacked.
    func cellsByWindow(
        partition: Int32,
        including: Set<WindowStart>? = nil
    ) -> [WindowStart: [(key: CellKey, cell: Cell)]] {
        var windows: [WindowStart: [(key: CellKey, cell: Cell)]] = [:]
        guard let table = tables[partition] else { return windows }
        for (key, cell) in table.cells {
            let window = WindowStart(size: key.size, start: key.start)
            if let including, !including.contains(window) { continue }
            windows[window, default: []].append((unpack(key), cell))
        }
        return windows
    }

    private struct Envelope: Decodable {
        var o: Int64
        var c: [Int64]
        var t: [String: Int64]?
    }

    public func apply(changelogRecord record: ConsumerRecordView) throws {
        guard let text = record.withUnsafeKey({ $0.map { String(decoding: $0, as: UTF8.self) } }),
            let key = CellKey(text: text)
        else { return }
        let table = table(record.partition)
        let packed = pack(key)
        guard let bytes = record.value else {
            table.cells.removeValue(forKey: packed)
            return
        }
        if bytes.first == UInt8(ascii: "{") {
            let envelope = try decoder.decode(Envelope.self, from: Data(bytes))
            table.cells[packed] = Cell(
                counters: KPICounters(values: envelope.c, tallies: envelope.t ?? [:]),
                offset: envelope.o
            )
            return
        }
        let cell = bytes.withUnsafeBytes { raw -> Result<Cell, PartialCodecError> in
            do throws(PartialCodecError) { return .success(try Self.decodeBinary(raw)) } catch {
                return .failure(error)
            }
        }
        table.cells[packed] = try cell.get()
    }

    public func prepare(partition: Int32) {
        tables[partition] = Table()
    }

    public func drop(partition: Int32) {
        tables[partition] = nil
    }
}

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

/// The open windows' counters of each partition, backed by the changelog `cs.kpi.windows`.
///
/// Like ``KeyedStateStore`` (changes coalesced per key between commits, every cell remembers the
/// input offset that last changed it, so a record replayed after a crash is not added twice to a
/// cell whose change already reached the changelog), but with a struct key and a compact
/// encoding: the hot path of the service adds to some twenty cells per event.
///
/// - Important: not thread-safe; used only from its ``ProcessingLoop``'s task.
public final class CellStore: StateStore, @unchecked Sendable {
    final class Table {
        var cells: [CellKey: Cell] = [:]
        var dirty = Set<CellKey>()
    }

    public let changelogTopic: String
    private var tables: [Int32: Table] = [:]
    private let encoder = JSONEncoder()
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

    /// Adds `counters` to a cell, unless the record at `offset` already changed it (a replay).
    /// - Returns: false for a replay.
    @discardableResult
    public func add(_ counters: KPICounters, to key: CellKey, partition: Int32, offset: Int64) -> Bool {
        let table = table(partition)
        if let cell = table.cells[key], cell.offset >= offset { return false }
        table.cells[key, default: Cell(counters: KPICounters(), offset: offset)].counters.merge(counters)
        table.cells[key]!.offset = offset
        table.dirty.insert(key)
        return true
    }

    /// Adds one to tallies of a cell (same replay rule as ``add(_:to:partition:offset:)``, which
    /// must be called for the cell with the same record first).
    public func addTallies(_ keys: [String], to key: CellKey, partition: Int32) {
        guard !keys.isEmpty, let table = tables[partition], table.cells[key] != nil else { return }
        for tally in keys { table.cells[key]!.counters.tallies[tally, default: 0] += 1 }
        table.dirty.insert(key)
    }

    /// The cell of `key`.
    public func get(_ key: CellKey, partition: Int32) -> Cell? { tables[partition]?.cells[key] }

    /// Every cell of a partition.
    public func cells(partition: Int32) -> [CellKey: Cell] { tables[partition]?.cells ?? [:] }

    /// Removes cells (their window is closed).
    public func delete(_ keys: [CellKey], partition: Int32) {
        guard let table = tables[partition] else { return }
        for key in keys where table.cells.removeValue(forKey: key) != nil { table.dirty.insert(key) }
    }

    /// Partitions held.
    public var partitions: [Int32] { tables.keys.sorted() }

    /// Bytes of the counters held for a partition's cells of one window size (values and tally
    /// strings; dictionary overhead not included).
    public func payloadBytes(partition: Int32, size: KPIWindowSize) -> Int {
        var bytes = 0
        for (key, cell) in tables[partition]?.cells ?? [:] where key.size == size {
            bytes += MemoryLayout<CellKey>.stride + key.value.utf8.count + MemoryLayout<Cell>.stride
            bytes += cell.counters.values.count * 8
            for (tally, _) in cell.counters.tallies { bytes += tally.utf8.count + 24 }
        }
        return bytes
    }

    // MARK: StateStore

    public var hasChanges: Bool { tables.values.contains { !$0.dirty.isEmpty } }

    public func appendChanges(to batch: inout ProducerBatch) throws {
        for (partition, table) in tables where !table.dirty.isEmpty {
            for key in table.dirty {
                var value: [UInt8]?
                if let cell = table.cells[key] { value = Self.encode(cell) }
                batch.append(topic: changelogTopic, partition: partition, key: Array(key.text.utf8), value: value)
            }
        }
    }

    /// `{"o":offset,"c":[…],"t":{…}}`, written by hand: this runs for every changed cell.
    static func encode(_ cell: Cell) -> [UInt8] {
        var text = "{\"o\":\(cell.offset),\"c\":["
        var first = true
        for value in cell.counters.values {
            if !first { text += "," }
            first = false
            text += String(value)
        }
        text += "]"
        if !cell.counters.tallies.isEmpty {
            text += ",\"t\":{"
            first = true
            for (key, count) in cell.counters.tallies.sorted(by: { $0.key < $1.key }) {
                if !first { text += "," }
                first = false
                text += Self.jsonString(key) + ":" + String(count)
            }
            text += "}"
        }
        text += "}"
        return Array(text.utf8)
    }

    static func jsonString(_ text: String) -> String {
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
        for table in tables.values { table.dirty.removeAll(keepingCapacity: true) }
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
        guard let bytes = record.value else {
            table.cells.removeValue(forKey: key)
            return
        }
        let envelope = try decoder.decode(Envelope.self, from: Data(bytes))
        table.cells[key] = Cell(
            counters: KPICounters(values: envelope.c, tallies: envelope.t ?? [:]),
            offset: envelope.o
        )
    }

    public func prepare(partition: Int32) {
        tables[partition] = Table()
    }

    public func drop(partition: Int32) {
        tables[partition] = nil
    }
}
